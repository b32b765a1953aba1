"""Exceptions that the command line turns into one-line messages (exit status 2)."""


class EvoplastError(Exception):
    """Base class of user-facing errors: bad input, unreadable files, refused actions."""


class ConfigError(EvoplastError):
    """A configuration value is unknown, of the wrong type or impossible."""


class RunDirError(EvoplastError):
    """A run directory is missing, locked, or holds an unreadable file."""
