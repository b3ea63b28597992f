"""The session-end wizard: your files, exports to fix, destinations, copy, receipt."""
