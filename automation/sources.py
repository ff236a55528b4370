"""Metric sources polled on their own schedules. A source that fails or hangs is marked
stale and retried on its next turn; it never holds up the others."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from playbooks.clock import utc_now
from playbooks.samples import Sample

SampleFn = Callable[[], list[Sample]]


@dataclass
class SourceStatus:
    name: str
    last_ok: datetime | None = None
    last_error: str | None = None
    stale: bool = True


@dataclass
class PolledSource:
    """One source: `sample()` is called every `interval` seconds, in its own thread, and
    abandoned (the source marked stale) if it takes longer than `timeout`."""

    name: str
    sample: SampleFn
    interval: float = 5.0
    timeout: float = 10.0
    status: SourceStatus = field(init=False)

    def __post_init__(self) -> None:
        self.status = SourceStatus(self.name)


class SourcePoller:
    """Polls every source on its own thread and hands samples to `deliver`."""

    def __init__(self, sources: list[PolledSource], deliver: Callable[[list[Sample]], None],
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.sources = sources
        self.deliver = deliver
        self.clock = clock
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for source in self.sources:
            thread = threading.Thread(target=self._run, args=(source,), name=f"source-{source.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self, timeout: float = 5.0) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, source: PolledSource) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            self.poll_once(source)
            # Reschedule after the poll ends: polls of one source never overlap.
            self.stop.wait(max(0.0, source.interval - (time.monotonic() - started)))

    def poll_once(self, source: PolledSource) -> list[Sample]:
        result: list[list[Sample]] = []
        error: list[BaseException] = []

        def call() -> None:
            try:
                result.append(source.sample())
            except BaseException as exc:  # reported as the source's status, one sentence
                error.append(exc)

        worker = threading.Thread(target=call, name=f"poll-{source.name}", daemon=True)
        worker.start()
        worker.join(source.timeout)
        if worker.is_alive():
            source.status.stale = True
            source.status.last_error = f"{source.name} did not answer within {source.timeout:g}s"
            return []
        if error:
            source.status.stale = True
            source.status.last_error = f"{source.name} failed: {error[0]}"
            return []
        samples = result[0] if result else []
        source.status.stale = False
        source.status.last_ok = self.clock()
        source.status.last_error = None
        if samples:
            self.deliver(samples)
        return samples
