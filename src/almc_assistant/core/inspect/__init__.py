"""What is this file? Header-only checks returning a verdict with plain-word reasons."""
