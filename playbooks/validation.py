"""Checks on the text people type, shared by every write path (and cheap to import)."""
from __future__ import annotations

import re

from playbooks.errors import PolicyValueError

MAX_TEXT = 10_000  # a note or update longer than this is a paste accident
MAX_LINE = 200  # titles, names, services: one line that fits a status page
# Bidi overrides, embeddings, isolates and marks reorder what a terminal, a page or a
# ticket shows ("invoice\u202egnp.exe" reads "invoiceexe.png"); line and paragraph
# separators start a new line where only \n may. Refused like control characters.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
SEPARATORS = frozenset("\u2028\u2029")


def checked_text(value: str | None, what: str, *, required: bool = True, multiline: bool = False) -> str | None:
    """Checked user text: stripped, bounded, and free of control characters (a title with
    an escape sequence would repaint an engineer's terminal), bidi controls and Unicode
    line/paragraph separators."""
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
    bad = next((c for c in value if c in BIDI_CONTROLS or c in SEPARATORS), None)
    if bad is not None:
        kind = "bidi control" if bad in BIDI_CONTROLS else "line separator" if bad == "\u2028" else "paragraph separator"
        lines = " (newlines are fine)" if multiline else ", on one line"
        raise PolicyValueError(f"the {what} contains the {kind} {bad!r} (U+{ord(bad):04X}); accepted: text without "
                               f"bidi controls or Unicode line/paragraph separators{lines}")
    # A lone surrogate is how Python carries bytes that were not UTF-8 (a command-line
    # argument in another encoding): it cannot be stored or printed.
    bad = next((c for c in value if "\ud800" <= c <= "\udfff"), None)
    if bad is not None:
        raise PolicyValueError(f"the {what} contains bytes that are not UTF-8 ({bad!r}); accepted: UTF-8 text")
    return value


def check_actor(actor: str) -> str:
    return checked_text(actor, "actor name (--as)")


# What no stored text may hold, whoever wrote it: C0 controls but newline and tab, DEL and C1,
# bidi controls and Unicode line/paragraph separators (the checks above, as one scan for a
# restore's millions of values).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def unsafe_character(text: str) -> str | None:
    """The first character of `text` no stored text may hold, or None."""
    found = _UNSAFE.search(text)
    return found.group() if found else None
