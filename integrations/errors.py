"""Errors raised by integrations (metric sources, notifiers, receivers)."""
from __future__ import annotations


class SourceUnavailable(Exception):
    """A metric or log source could not produce anything at all.

    The message is one sentence naming the source and why, fit to show on screen
    next to the source marked stale.
    """
