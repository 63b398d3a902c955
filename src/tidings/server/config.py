"""Moved to :mod:`tidings.config`: the settings belong to the kernel, not the server.
Re-exported only for branches written before the move; import ``tidings.config``."""

from tidings.config import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "load_settings"]
