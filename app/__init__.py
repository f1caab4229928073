"""Web layer: Litestar wiring, handlers, templates glue. Nothing in runway/ or domains/ imports it."""
