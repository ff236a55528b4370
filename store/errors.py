"""Errors a user can cause against the store; each message is one sentence."""
from playbooks.errors import PolicyValueError


class StoreError(PolicyValueError):
    """A request the store refuses: unknown id, impossible move, stale view."""


class IncidentNotFound(StoreError):
    pass


class ChangeRefused(StoreError):
    """The change is impossible from the incident's current state."""


class StaleView(ChangeRefused):
    """The incident changed since the caller read it; the message shows the current state."""


class DatabaseUnavailable(Exception):
    """The database cannot be opened or written (locked too long, disk full, server down)."""
