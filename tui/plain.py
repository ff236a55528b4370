"""Stored text on screen: always data, never markup or terminal control.

Titles, notes, names, alert summaries, vendor replies and restored rows come from people
and systems the command center does not control (a teammate's direct write on PostgreSQL,
a restored backup, an alert sender). A widget given a `str` reads it as markup (Textual's
DataTable, Static, Label, Rich's Table cells), so "[eu] checkout" loses its brackets and
"[@click=app.quit]x[/]" becomes a link that quits. And Textual passes escape sequences,
C1 controls and bidi overrides through to the terminal untouched. So stored text reaches
a widget only through these: a `Text` built from the string (no markup is parsed, no
style, link or action is attached) in which every unprintable character is written as its
escape (\\x1b, \\x9b, \\u202e, \\u2028), as the command line shows it
(`playbooks.errors.one_line`): what a terminal would obey or hide is shown instead.
"""
from __future__ import annotations

from rich.text import Text

from playbooks.errors import one_line


def visible(value: object) -> str:
    """`value` on one line with every unprintable character escaped ("" for None)."""
    return "" if value is None else one_line(value)


def visible_lines(value: object) -> str:
    """Like `visible`, but a newline stays a line break (a note's paragraphs); a tab is
    spaces. Any other line or paragraph separator is shown escaped, not obeyed."""
    if value is None:
        return ""
    return "\n".join(one_line(line.expandtabs(4)) for line in str(value).split("\n"))


def first_line(value: object) -> str:
    """The first line of a note or summary (split at a newline only: a separator that
    hides what follows it is shown escaped)."""
    return visible("" if value is None else str(value).split("\n", 1)[0])


def plain(value: object, style: str = "", **options) -> Text:
    """Stored text as a one-line `Text`: shown literally, never parsed as markup."""
    return Text(visible(value), style=style, **options)


def plain_block(value: object, style: str = "", **options) -> Text:
    """Stored multi-line text (a note, a root cause) as `Text`, its newlines kept."""
    return Text(visible_lines(value), style=style, **options)


def cell(value: object, style: str = "") -> Text:
    """A DataTable cell of stored text. A `str` cell would be read as markup; this is what
    the table makes of a plain string in a one-line row, without the markup: cut, not wrapped."""
    return Text(visible(value), style=style, no_wrap=True, end="")
