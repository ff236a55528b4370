"""Heartbeats (dead-man's switches), as a pure question: given when a heartbeat last beat (or,
never seen, since when it has been watched), its interval and grace, is it missed at `now`?

A job that should report every `interval` gets `grace` on top before its silence counts: it
is missed once `now` is past the last beat + interval + grace. One that never beat is judged
from when watching began, so a heartbeat configured today is not missed at once. The
instants are handed in (naive UTC, or aware); nothing here reads a clock or the store.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from playbooks.clock import iso_z, to_utc_naive


def dedup_key(name: str) -> str:
    """The key that keeps one open incident per heartbeat (as `rule:NAME` does for a rule)."""
    return f"heartbeat:{name}"


@dataclass(frozen=True)
class HeartbeatState:
    """Where one heartbeat stands at `at`."""

    name: str
    at: datetime
    since: datetime  # the last beat, or when watching began when it never beat
    seen: bool  # has it ever beaten
    due_by: datetime  # missed once `at` is past this instant

    @property
    def missed(self) -> bool:
        return self.at > self.due_by

    @property
    def silent_for(self) -> timedelta:
        return self.at - self.since

    def title(self) -> str:
        """The incident's title when missed: the name is data and goes in as it is."""
        if self.seen:
            return f"No heartbeat from {self.name} since {iso_z(self.since)}"
        return f"No heartbeat from {self.name} since watching began at {iso_z(self.since)}"


def heartbeat_state(name: str, *, interval: timedelta, grace: timedelta, last_beat: datetime | None,
                    watching_since: datetime, now: datetime) -> HeartbeatState:
    """The heartbeat `name` at `now`: due by (last beat, or watching since) + interval + grace."""
    if interval <= timedelta(0) or grace < timedelta(0):
        raise ValueError(f"a heartbeat needs a positive interval and a grace of zero or more, not "
                         f"{interval} and {grace}")
    since = to_utc_naive(last_beat) if last_beat is not None else to_utc_naive(watching_since)
    return HeartbeatState(name, to_utc_naive(now), since, last_beat is not None, since + interval + grace)
