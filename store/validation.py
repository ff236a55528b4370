"""Checks on the text people type, shared by every write path (and cheap to import)."""
from __future__ import annotations

from playbooks.errors import PolicyValueError

MAX_TEXT = 10_000  # a note or update longer than this is a paste accident
MAX_LINE = 200  # titles, names, services: one line that fits a status page


def checked_text(value: str | None, what: str, *, required: bool = True, multiline: bool = False) -> str | None:
    """Checked user text: stripped, bounded, and free of control characters (a title with
    an escape sequence would repaint an engineer's terminal)."""
    if value is None or not str(value).strip():
        if required:
            raise PolicyValueError(f"the {what} is empty; accepted: some text")
        return None
    value = str(value).strip()
    limit = MAX_TEXT if multiline else MAX_LINE
    if len(value) > limit:
        raise PolicyValueError(f"the {what} is {len(value)} characters long; accepted: at most {limit}")
    allowed = "\n\t" if multiline else ""
    bad = next((c for c in value if (ord(c) < 32 or 127 <= ord(c) < 160) and c not in allowed), None)
    if bad is not None:
        kind = "text without control characters" + (" (newlines and tabs are fine)" if multiline else " on one line")
        raise PolicyValueError(f"the {what} contains the control character {bad!r}; accepted: {kind}")
    # A lone surrogate is how Python carries bytes that were not UTF-8 (a command-line
    # argument in another encoding): it cannot be stored or printed.
    bad = next((c for c in value if "\ud800" <= c <= "\udfff"), None)
    if bad is not None:
        raise PolicyValueError(f"the {what} contains bytes that are not UTF-8 ({bad!r}); accepted: UTF-8 text")
    return value


def check_actor(actor: str) -> str:
    return checked_text(actor, "actor name (--as)")
