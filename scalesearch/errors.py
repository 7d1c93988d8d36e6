"""One exception family. The CLI turns each into a one-line message and an exit code."""

from __future__ import annotations


class ScaleSearchError(Exception):
    """Base of every error scalesearch raises on purpose. ``exit_code`` is what the CLI returns."""

    exit_code = 1


class SpecError(ScaleSearchError, ValueError):
    """A network spec (or a spec file) is invalid. The message names the field and, for files, the line."""

    exit_code = 2


class UsageError(ScaleSearchError, ValueError):
    """A command-line value does not parse or is out of range (a size, a range, a multiplier)."""

    exit_code = 2


class UnknownBaselineError(ScaleSearchError, KeyError):
    """No baseline has that name and no file has that path."""

    exit_code = 2

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DataError(ScaleSearchError):
    """A data source is missing, empty, unreadable or inconsistent."""

    exit_code = 3


class StorageError(ScaleSearchError):
    """A study storage cannot be reached or opened."""

    exit_code = 4


class SearchError(ScaleSearchError):
    """The search cannot run as asked (e.g. no feasible candidate)."""

    exit_code = 5
