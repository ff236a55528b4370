"""Settings shared by the property tests.

Runs are derandomized (the same examples on every run and in CI) and keep no example
database. IR_PROPERTY_SCALE=10 multiplies every test's number of examples, for a longer
bug hunt by hand; the default keeps the whole folder to a few minutes.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def examples(count: int) -> int:
    return max(1, int(count * float(os.environ.get("IR_PROPERTY_SCALE", "1"))))


def property_settings(count: int) -> settings:
    return settings(
        max_examples=examples(count),
        deadline=None,
        derandomize=True,
        database=None,
        # The autouse isolated-XDG fixture (and tmp_path, monkeypatch) are function-scoped:
        # they set the same environment for every example, and every example makes its own
        # files and database, so sharing them across examples is what we want.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def note(label: str) -> None:
    """hypothesis.event() when inside a property test (its statistics show the mix of
    outcomes with --hypothesis-show-statistics); nothing in a plain test."""
    from hypothesis import currently_in_test_context, event

    if currently_in_test_context():
        event(label)
