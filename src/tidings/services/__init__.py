"""Tidings services."""
