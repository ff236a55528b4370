"""Stored text placed into a Markdown document as data, never as markup.

Every value a person, an alert or a restored backup put into the store (titles, notes, role
holders, actor names, RCA fields, step texts) goes through one of these before it is written
into a Markdown document:

- `md_line(text)`: a value on one line (a heading, a table cell, a list item's words). Line
  breaks and other control characters are shown as their escapes (`\\n`, `\\x1b`), as the CLI
  shows them, and every character that starts CommonMark/GFM markup is backslash-escaped,
  so the value can open no emphasis, link, image, code span, raw HTML, entity or table cell.
- `md_block(text, indent)`: a value that may span lines (a note in a timeline item, an
  agenda item's notes). Each of its lines is escaped as above and the line-start markers
  (`#`, `-`, `+`, `=`, `>`, `1.`) are escaped too; the lines are joined by hard breaks and
  indented under the item they belong to, so a continuation line can start no heading,
  list item, quote, table row or code block, and cannot pass for a timeline line.

CommonMark renders a backslash-escaped ASCII punctuation mark as the mark itself, so the
HTML made from the document (reports.rca.html_document) shows the text exactly; a plain-text
reader sees the text with a few backslashes.
"""
from __future__ import annotations

import re
import unicodedata

# Characters with meaning anywhere in a line: escapes, code spans, emphasis (also GFM's
# strikethrough), links and images, raw HTML and autolinks, entities, table cells.
_INLINE = re.compile(r"([\\`*_\[\]<>!~&|])")
# What opens a block at the start of a line once the inline marks are escaped: a heading,
# list bullets, a setext underline or thematic break, a quote, an ordered list's "1." / "1)".
_LINE_START = re.compile(r"^([-+=>#])|^(\d{1,9})([.)])")
# A run of "#" ending a value would be taken for the closing sequence of a heading it ends.
_CLOSING = re.compile(r"(?<!\\)#(?=[#\s]*$)")
# Bidirectional controls: they reorder what the reader sees without being seen themselves.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _hidden(char: str) -> bool:
    """A character that would act instead of being seen: C0/C1 controls (line breaks
    included), bidi controls and the Unicode line/paragraph separators."""
    return char in _BIDI or unicodedata.category(char) in ("Cc", "Zl", "Zp")


def visible(text: object) -> str:
    """`text` with every hidden character written as its escape (`\\n`, `\\x1b`, `\\u202e`)."""
    return "".join(repr(c)[1:-1] if _hidden(c) else c for c in str(text))


def _escape_marks(line: str) -> str:
    return _INLINE.sub(r"\\\1", line)


def _escape_line_start(line: str) -> str:
    line = _CLOSING.sub(r"\\#", line)
    match = _LINE_START.match(line)
    if match is None:
        return line
    if match.group(1):
        return line if line.startswith("\\#") else "\\" + line
    end = match.end(2)
    return line[:end] + "\\" + line[end:]


def md_line(text: object) -> str:
    """One value on one line of a Markdown document, shown literally."""
    if text is None:
        return "-"
    # Escape the marks first so the backslashes the escapes add stay plain text.
    line = visible(_escape_marks(str(text)))
    # Leading spaces would make an indented code block or a lazy continuation.
    return _escape_line_start(line.strip(" "))


def md_block(text: object, indent: int = 2) -> str:
    """A value that may span lines, for the item it follows: each line escaped, the lines
    joined by hard breaks and indented by `indent` spaces (the item's content column)."""
    if text is None:
        return "-"
    lines = [_escape_line_start(visible(_escape_marks(part)).strip(" ")) for part in str(text).splitlines()]
    lines = [line for line in lines if line]  # a blank line would end the item
    if not lines:
        return ""
    return ("\\\n" + " " * indent).join(lines)


def md_cell(text: object) -> str:
    """A table cell: one line, `|` escaped (md_line does both)."""
    return md_line(text)
