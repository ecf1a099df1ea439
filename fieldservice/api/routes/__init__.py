"""One module per resource, each exposing ``router``."""
