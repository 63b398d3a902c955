"""`tidings demo`: a guided tour that drives a real Tidings server as real clients do.

An I/O shell like ``cli/``: it starts ``tidings serve`` on a temporary SQLite, plays
the story through the SDK (HTTP and WebSocket) and checks every claim it prints.
"""
