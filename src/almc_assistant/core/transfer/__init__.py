"""Verified copy: hashing, one-file copier, worker pool, progress, manifest."""
