"""Widgets of the chat client."""
