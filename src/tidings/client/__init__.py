"""Tidings client."""
