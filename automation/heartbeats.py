"""The heartbeat check `watch` runs with its other periodic checks: every configured
[heartbeats.NAME] silent past its interval and grace opens one incident (store/heartbeats.py);
the beats themselves arrive through `serve` (POST /heartbeat/NAME)."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from playbooks.config.heartbeats import Heartbeat as HeartbeatSpec
from playbooks.errors import PolicyValueError
from playbooks.policy import Policy
from store.heartbeats import check_heartbeat
from store.operations import IncidentStore

log = logging.getLogger(__name__)


def checked_heartbeats(heartbeats: dict[str, HeartbeatSpec], policy: Policy) -> dict[str, HeartbeatSpec]:
    """The heartbeats, once their incident type is known to the policy (a user's workflow may add
    one, so the configuration alone cannot tell); raises PolicyValueError in one sentence."""
    for name, spec in heartbeats.items():
        if spec.type not in policy.workflows:
            raise PolicyValueError(f"[heartbeats.{name}] type is {spec.type!r}, which has no workflow; "
                                   f"accepted: {', '.join(policy.workflows)}")
    return dict(heartbeats)


class HeartbeatCheck:
    """Checks every heartbeat at the store's time (or the `now` handed in)."""

    def __init__(self, store: IncidentStore, heartbeats: dict[str, HeartbeatSpec], *,
                 on_event: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.heartbeats = checked_heartbeats(heartbeats, store.policy)
        self.on_event = on_event or (lambda line: None)

    def __bool__(self) -> bool:
        return bool(self.heartbeats)

    def check(self, now: datetime | None = None) -> list[str]:
        """The incidents opened by this check, one per heartbeat newly found missed."""
        opened = []
        for name, spec in self.heartbeats.items():
            try:
                state, incident = check_heartbeat(self.store, name, spec, now=now)
            except Exception:  # one heartbeat's failure (the database away) must not stop the loop
                log.exception("checking heartbeat %r failed", name)
                continue
            if incident is not None:
                opened.append(incident.id)
                self.on_event(f"{state.title()}: {incident.id}")
        return opened
