"""Screens of the chat client."""
