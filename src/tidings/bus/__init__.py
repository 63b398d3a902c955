"""Tidings bus."""
