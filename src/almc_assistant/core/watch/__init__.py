"""Watching acquisition folders: observers, filter-and-enqueue handler, stabiliser."""
