"""Shared fixtures: isolated XDG dirs, a frozen clock, and the store on both backends."""
from __future__ import annotations

import os
from datetime import datetime, timedelta

import pytest

from tests.support.postgres import PostgresUnavailable, start_postgres

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_configure(config):
    # A pytest-xdist worker dies with its controller, so killing the run (SIGKILL, a CI
    # timeout) also ends the workers and, through tests/support/lifetime.py, their servers.
    if hasattr(config, "workerinput"):
        from tests.support.lifetime import tie_to_parent

        tie_to_parent()


# Tests that load both cores on purpose (eight writers, fault injection, the benchmarks) or
# assert a wall-clock latency: under pytest-xdist's --dist loadgroup they share one group,
# so they run one after another on one worker instead of starving each other.
TIMED_OR_CPU_HEAVY = ("tests/load/", "tests/e2e/test_bench.py", "tests/team/test_live_updates.py",
                      "tests/tui/test_live_pty.py", "tests/store/test_crash_and_concurrency.py",
                      "tests/team/test_multi_host.py")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith(TIMED_OR_CPU_HEAVY):
            item.add_marker(pytest.mark.xdist_group("timed-or-cpu-heavy"))


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Never touch the developer's real data, config or state."""
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv("IR_DATABASE_URL", raising=False)
    monkeypatch.setenv("USER", "tester")


class FrozenClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **kwargs) -> datetime:
        self.moment += timedelta(**kwargs)
        return self.moment


@pytest.fixture
def clock() -> FrozenClock:
    # A Thursday at 14:30 UTC, inside business hours.
    return FrozenClock(datetime(2024, 1, 18, 14, 30, 0))


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"PostgreSQL is required under CI=true but unavailable: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def postgres_server():
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        server = None
        reason = str(exc)
    if server is None:
        _unavailable(reason)
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'incidents.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def policy():
    from playbooks import load_policy

    return load_policy()


@pytest.fixture
def store(db_url, policy, clock):
    from store.database import open_database
    from store.operations import IncidentStore

    db = open_database(db_url)
    yield IncidentStore(db, policy, clock)
    db.dispose()


@pytest.fixture
def exporter():
    from tests.support.prometheus import Exporter

    server = Exporter()
    yield server
    server.close()


@pytest.fixture
def prometheus(exporter):
    from tests.support.prometheus import Prometheus, Unavailable

    try:
        server = Prometheus(exporter.port)
    except Unavailable as exc:
        _unavailable_server("Prometheus", str(exc))
    yield server
    server.close()


def _unavailable_server(name: str, reason: str):
    if IN_CI:
        pytest.fail(f"{name} is required under CI=true but unavailable: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")
