"""The error catalogue.

Every error a user can cause is a :class:`PtwError` carrying a stable ``code``, where it
happened (file, line or source row, column), the value seen, what was expected and a fix.
The command line prints ``str(error)`` and exits non-zero; no traceback is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import partial


@dataclass
class PtwError(Exception):
    """A located, explained error.

    Attributes:
        code: stable identifier, e.g. ``"ingest.unknown_option"``.
        message: what is wrong, in plain words.
        file: the file involved, if any.
        line: 1-based line in ``file`` (instrument YAML, plan) if known.
        row: 1-based source row in a data file if known.
        column: the column or item name if known.
        value: the offending value as seen.
        expected: what would have been accepted.
        fix: what the user can do about it.
    """

    code: str
    message: str
    file: str | None = None
    line: int | None = None
    row: int | None = None
    column: str | None = None
    value: object = None
    expected: str | None = None
    fix: str | None = None
    details: dict[str, object] = field(default_factory=dict)

    def __reduce__(self) -> tuple[partial[PtwError], tuple[()]]:
        """Pickle by fields (an exception pickles its positional ``args``, which a dataclass
        exception leaves empty), so an error raised in a worker process arrives whole."""
        return partial(type(self), **{f.name: getattr(self, f.name) for f in fields(self)}), ()

    def location(self) -> str:
        """``file:line`` or ``file, source row R, column "C"``, whichever parts are known."""
        parts: list[str] = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else str(self.file))
        if self.row is not None:
            parts.append(f"source row {self.row}")
        if self.column is not None:
            parts.append(f'column "{self.column}"')
        return ", ".join(parts)

    def __str__(self) -> str:
        head = self.location()
        text = f"{head}: {self.message}" if head else self.message
        if self.value is not None:
            text += f" (value: {self.value!r})"
        if self.expected:
            text += f"; expected {self.expected}"
        if self.fix:
            text += f". Fix: {self.fix}"
        return f"{text} [{self.code}]"


class InstrumentError(PtwError):
    """An instrument or plan definition is invalid."""


class IngestError(PtwError):
    """A data file cannot be read or accepted as a whole."""


class StoreError(PtwError):
    """The store cannot do what was asked (missing, locked, conflicting)."""


class DisclosureError(PtwError):
    """An output would reveal a group below the disclosure threshold."""


class RenderError(PtwError):
    """A report failed to render."""
