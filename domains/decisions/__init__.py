"""Domain (decisions): the decision queue, its decisions and finalize batches."""
