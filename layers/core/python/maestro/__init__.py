"""Maestro ML core: domain rules, repositories and the handler kit shared by every function."""

__version__ = "0.1.0"
