"""Conveyor's demo service: an ASGI app whose /health depends on Redis."""
