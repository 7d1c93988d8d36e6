"""One exception family. The CLI turns each into a one-line message and an exit code."""

from __future__ import annotations


class ScaleSearchError(Exception):
    """Base of every error scalesearch raises on purpose. ``exit_code`` is what the CLI returns."""

    exit_code = 1


class SpecError(ScaleSearchError, ValueError):
    """A network spec (or a spec file) is invalid. The message names the field and, for files, the line."""

    exit_code = 2


class SizeError(SpecError):
    """A spec beyond a size limit (scalesearch.core.limits): a valid network, too big to build, count or fit in
    memory here. Its message names the size, the limit and how to raise it."""


class BuilderError(SpecError):
    """A user's builder (``--baseline file.py:function``) cannot be loaded, or does not build a network as
    scalesearch needs one. The message names the builder and the problem; the user's own exception, if any, is
    the ``__cause__`` (``SCALESEARCH_DEBUG=1`` shows its traceback)."""


class UsageError(ScaleSearchError, ValueError):
    """A command-line value does not parse or is out of range (a size, a range, a multiplier)."""

    exit_code = 2


class FieldError(UsageError):
    """A setting of the library is out of range. The library names the *field* (``seeds``); the CLI, which
    knows which flag sets which field, rewrites the message with the flag (``--seeds``)."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field, self.value, self.problem = field, value, problem
        super().__init__(self.render(field))

    def render(self, name: str) -> str:
        """The message with ``name`` (a field or a flag) in front; a missing value (None) is not shown."""
        if self.value is None:
            return f"{name}: {self.problem}"
        return f"{name} {_preview(self.value)}: {self.problem}"


def _preview(value: object, limit: int = 60) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
