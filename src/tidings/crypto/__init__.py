"""Tidings crypto."""
