"""The operator service: a FastAPI app over the store (REST, live feed, metrics)."""
