"""Domain (summaries): per-business summary rows for the client list, and digest sends."""
