"""Tidings server."""
