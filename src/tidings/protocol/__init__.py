"""Tidings protocol."""
