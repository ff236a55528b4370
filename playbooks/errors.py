"""Errors a user can cause through policy files or policy values."""


class PlaybookError(Exception):
    """A playbook file is unreadable or breaks the schema; the message is one sentence."""


class PolicyValueError(ValueError):
    """A value (severity, type, environment, status...) is not one the policy accepts.

    The message names the bad value and lists what is accepted.
    """
