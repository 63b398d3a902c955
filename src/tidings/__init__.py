"""Tidings: private end-to-end encrypted chats and public channels, with trust and safety."""

__version__ = "0.1.0"
