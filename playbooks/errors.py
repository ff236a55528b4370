"""Errors a user can cause through policy files or policy values.

Their messages are one sentence on one line: a newline, escape or other unprintable
character a message echoes from a user's file or input (a TOML key, a label value) is
shown escaped, so it can neither break the line nor repaint a terminal.
"""


def one_line(message: object) -> str:
    """`message` with every unprintable character written as its escape (\\n, \\x1b, ...)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message))


class PlaybookError(Exception):
    """A playbook file is unreadable or breaks the schema; the message is one sentence."""

    def __str__(self) -> str:
        return one_line(super().__str__())


class PolicyValueError(ValueError):
    """A value (severity, type, environment, status...) is not one the policy accepts.

    The message names the bad value and lists what is accepted.
    """

    def __str__(self) -> str:
        return one_line(super().__str__())
