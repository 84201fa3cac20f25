"""Exceptions raised by the core, with messages meant for the user."""


class LabelMigrationError(Exception):
    """A problem the user can act on: the message names the file and what is wrong."""


class Cancelled(LabelMigrationError):
    """The user cancelled a running job; no output was left behind."""

    def __init__(self, message: str = "Cancelled by the user; no output was written."):
        super().__init__(message)


class MissingDependency(LabelMigrationError):
    """An optional Python package is not installed."""
