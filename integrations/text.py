"""Text from outside (a payload's title, a vendor's reply) made fit for one line of a message,
a header or a detail. The one control-character table every integration uses, so no vendor
keeps its own (four versions had drifted apart, some letting ESC, C1 controls or U+2028
through)."""
from __future__ import annotations

import re
from typing import Any, Iterable

#: Every C0 and C1 control character (NUL, ESC, CR, DEL, CSI ...) and the Unicode line and
#: paragraph separators: any of them can move a terminal's cursor, forge a header or a line.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
#: The same but tab and line feed, for text whose lines are kept (a comment's paragraphs).
CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]+")


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending in an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "\u2026"


def one_line(value: Any, limit: int | None = None) -> str:
    """`value` as text on one line: control characters and runs of whitespace become one
    space; cut to `limit` characters (with an ellipsis) when a limit is given."""
    text = " ".join(CONTROL.sub(" ", str(value if value is not None else "")).split())
    return text if limit is None else truncate(text, limit)


def without_controls(text: str) -> str:
    """`text` with its control characters as spaces, its tabs and line feeds kept."""
    return CONTROL_BUT_LINES.sub(" ", text)


def redacted(text: str, secrets: Iterable[str], mask: str = "[redacted]") -> str:
    """`text` with every one of `secrets` replaced by `mask`; longest first, so a secret that
    contains another is masked whole."""
    for secret in sorted({s for s in secrets if s and s.strip()}, key=len, reverse=True):
        text = text.replace(secret, mask)
    return text


def mask_number(number: str) -> str:
    """"+14155550100" -> "+1\u20260100": enough to tell recipients apart on screen, not to dial them."""
    number = number.strip()
    return number if len(number) <= 6 else f"{number[:2]}\u2026{number[-4:]}"
