"""Secrets from the environment, or from an owner-only file named by NAME_FILE; an unsafe
file is refused in one sentence that never holds the secret."""
from __future__ import annotations

import os

import pytest
from sqlmodel import select

from automation.delivery import Deliverer
from automation.routing import route_by_matrix
from integrations.pagerduty import PagerDutyNotifier
from integrations.secrets import SecretFileError, secret_from_env
from store.activity_log import secret_values
from store.models import Notification
from store.operations import IncidentStore
from tests.support.pagerduty_fake import ROUTING_KEY, PagerDutyFake


def _secret_file(tmp_path, mode: int, value: str = ROUTING_KEY):
    path = tmp_path / "pagerduty.key"
    path.write_text(value + "\n")
    os.chmod(path, mode)
    return path


def test_the_variable_wins_then_the_owner_only_file(tmp_path):
    path = _secret_file(tmp_path, 0o600)
    assert secret_from_env("PD_KEY", {"PD_KEY": "from-env", "PD_KEY_FILE": str(path)}) == "from-env"
    assert secret_from_env("PD_KEY", {"PD_KEY_FILE": str(path)}) == ROUTING_KEY  # trailing newline dropped
    assert secret_from_env("PD_KEY", {}) == ""


@pytest.mark.parametrize("mode", [0o640, 0o644, 0o604, 0o660])
def test_a_file_others_can_read_is_refused_in_one_sentence(tmp_path, mode):
    path = _secret_file(tmp_path, mode)
    with pytest.raises(SecretFileError) as refused:
        secret_from_env("PD_KEY", {"PD_KEY_FILE": str(path)})
    message = str(refused.value)
    assert f"mode {mode:04o}" in message and "chmod 600" in message and ROUTING_KEY not in message
    assert "\n" not in message


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(SecretFileError, match="cannot be read"):
        secret_from_env("PD_KEY", {"PD_KEY_FILE": str(tmp_path / "nope")})


def test_pagerduty_pages_with_a_key_from_a_file_and_the_log_hides_it(store, tmp_path, monkeypatch):
    monkeypatch.delenv("PAGERDUTY_ROUTING_KEY", raising=False)
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY_FILE", str(_secret_file(tmp_path, 0o600)))
    routed = IncidentStore(store.db, store.policy, store.clock, router=route_by_matrix(store.policy, {"pagerduty"}))
    incident = routed.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    with PagerDutyFake() as fake:
        assert Deliverer(routed, {"pagerduty": PagerDutyNotifier(url=fake.url)}, timeout=5).deliver_due() == 1
        assert fake.actions(incident.id) == ["trigger"]
    assert ROUTING_KEY in secret_values(named={"PAGERDUTY_ROUTING_KEY"})


def test_an_unsafe_file_keeps_the_message_waiting_with_the_fix_in_its_error(store, tmp_path, monkeypatch):
    monkeypatch.delenv("PAGERDUTY_ROUTING_KEY", raising=False)
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY_FILE", str(_secret_file(tmp_path, 0o644)))
    routed = IncidentStore(store.db, store.policy, store.clock, router=route_by_matrix(store.policy, {"pagerduty"}))
    routed.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    with PagerDutyFake() as fake:
        assert Deliverer(routed, {"pagerduty": PagerDutyNotifier(url=fake.url)}, timeout=5).deliver_due() == 0
        assert fake.received == []  # nothing went out with a key others could read
    with routed.db.read() as session:
        row = session.exec(select(Notification)).one()
    assert row.state == "pending" and "chmod 600" in row.last_error and ROUTING_KEY not in row.last_error
