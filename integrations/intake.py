"""What the alert receiver hands an understood alert to.

The receiver (integrations/alert_receiver.py) knows HTTP, credentials and the vendors'
payloads; what an alert means for an incident (declare, raise, clear, resolve; one open
incident per dedup key; the clock; the policy) belongs to an intake object handed to it.
`automation.alert_intake.AlertIntake` is the one over the store; this module only says
what the receiver may ask of one, so integrations/ never imports the store.

The intake answers with a plain `IntakeOutcome` or raises one of the three errors below,
which the receiver turns into its documented status codes (400, 409, 503; a heartbeat not
configured: IntakeUnknown, 404).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the annotations only: importing them costs nothing at run time
    from integrations.alert_payloads import ConditionChange
    from playbooks.policy import Policy


class IntakeRefused(ValueError):
    """The change breaks the policy (a value, a title, a detected time); nothing was written.
    One sentence saying what was wrong and what is accepted (HTTP 400)."""


class IntakeConflict(Exception):
    """The incident cannot take the change in the state it is in; nothing was written (HTTP 409)."""


class IntakeUnavailable(Exception):
    """The record of incidents cannot be read or written right now; retry later (HTTP 503)."""


class IntakeUnknown(LookupError):
    """No such heartbeat is configured; one sentence (HTTP 404)."""


@dataclass(frozen=True)
class IntakeOutcome:
    """What taking the change did: the incident it opened or touched (None: a clear for no
    open incident, e.g. a resolve delivered twice) and whether the incident is new."""

    incident: str | None
    created: bool = False


class Intake(Protocol):
    """What the receiver needs from whoever records alerts."""

    @property
    def policy(self) -> Policy:
        """The policy alerts are checked against (severity aliases, types, environments, rules)."""

    def now(self) -> datetime:
        """The time of the record (naive UTC): the receive time alerts are judged against."""

    def take(self, change: ConditionChange) -> IntakeOutcome:
        """Record the change: check it whole, then write it, or raise IntakeRefused,
        IntakeConflict or IntakeUnavailable having written nothing."""

    def beat(self, name: str) -> IntakeOutcome:
        """Record a beat of the heartbeat `name` now: IntakeOutcome(the incident its silence had
        opened and the beat cleared, or None); raises IntakeUnknown for a heartbeat not
        configured, IntakeConflict or IntakeUnavailable."""
