"""Tidings moderation."""
