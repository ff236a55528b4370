"""This host's health from /proc and statvfs: the embedded default metric source.

Every value is in the rule engine's canonical units: percentages as percent numbers
(12.5 means 12.5%), rates per hour.

Metrics (source ``"host"``):

- ``cpu``: percent busy across all CPUs, from the /proc/stat delta since the
  previous call (the first call takes two readings ``first_interval`` apart);
- ``memory``: percent used, (MemTotal - MemAvailable) / MemTotal;
- ``load``: 1-minute load average per CPU, as a percent (can exceed 100 when the
  run queue is longer than the CPU count);
- ``disk``: percent used of ``disk_path`` as ``df`` shows it (root-reserved blocks
  count as unavailable);
- ``network_errors``: rx + tx errs + drop over non-loopback interfaces from
  /proc/net/dev, per hour since the previous call (absent on the first call).

A file that cannot be read or parsed only drops its metric; ``SourceUnavailable``
is raised when nothing at all could be read.
"""
from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from integrations.errors import SourceUnavailable
from playbooks.clock import Clock, utc_now
from playbooks.samples import Sample

SOURCE = "host"
LOOPBACK_INTERFACES = frozenset({"lo"})
_CPU_LINE = re.compile(r"^cpu\d+\s")


@dataclass(frozen=True)
class CpuTimes:
    """Aggregate jiffies from the ``cpu`` line of /proc/stat, and the CPU count."""

    total: int
    idle: int
    count: int


def parse_stat(text: str) -> CpuTimes:
    """Parse /proc/stat; raises ValueError when the aggregate ``cpu`` line is missing."""
    aggregate: list[int] | None = None
    count = 0
    for line in text.splitlines():
        if line.startswith("cpu "):
            aggregate = [int(field) for field in line.split()[1:]]
        elif _CPU_LINE.match(line):
            count += 1
    if not aggregate or len(aggregate) < 4:
        raise ValueError("/proc/stat has no aggregate cpu line")
    # user nice system idle iowait irq softirq steal; guest and guest_nice (fields
    # 9 and 10) are already counted inside user and nice, so they are left out.
    fields = aggregate[:8]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return CpuTimes(total=sum(fields), idle=idle, count=count)


def parse_meminfo(text: str) -> float:
    """Percent of memory used from /proc/meminfo."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            values[key.strip()] = int(parts[0])
    total = values["MemTotal"]
    if total <= 0:
        raise ValueError("MemTotal is zero")
    available = values.get("MemAvailable")
    if available is None:  # kernels before 3.14
        available = values["MemFree"] + values.get("Buffers", 0) + values.get("Cached", 0)
    return _clamp_percent((total - available) / total * 100.0)


def parse_loadavg(text: str) -> float:
    """The 1-minute load average from /proc/loadavg."""
    return float(text.split()[0])


def parse_net_dev(text: str) -> dict[str, int]:
    """Per non-loopback interface: rx errs + rx drop + tx errs + tx drop."""
    counters: dict[str, int] = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if not sep or "|" in line:
            continue
        name = name.strip()
        if name in LOOPBACK_INTERFACES:
            continue
        fields = [int(field) for field in rest.split()]
        if len(fields) < 12:
            raise ValueError(f"/proc/net/dev line for {name} has {len(fields)} fields")
        counters[name] = fields[2] + fields[3] + fields[10] + fields[11]
    return counters


def disk_used_percent(path: str) -> float:
    """Percent used of the filesystem holding ``path``, as ``df`` computes it."""
    st = os.statvfs(path)
    used = st.f_blocks - st.f_bfree
    usable = used + st.f_bavail
    if usable <= 0:
        raise ValueError(f"{path} reports no blocks")
    return _clamp_percent(used / usable * 100.0)


def _clamp_percent(value: float) -> float:
    return min(100.0, max(0.0, value))


class HostMetrics:
    """Samples this host's CPU, memory, load, disk and network errors.

    Keeps the previous /proc/stat and /proc/net/dev readings between calls, so
    keep one instance per host and call ``sample()`` on each poll. Safe to call
    from several threads (calls are serialised).
    """

    def __init__(
        self,
        proc_root: Path = Path("/proc"),
        disk_path: str = "/",
        clock: Clock = utc_now,
        *,
        sleep: Callable[[float], None] = time.sleep,
        first_interval: float = 0.2,
    ) -> None:
        self.proc_root = Path(proc_root)
        self.disk_path = disk_path
        self.clock = clock
        self.sleep = sleep
        self.first_interval = first_interval
        self._lock = threading.Lock()
        self._prev_cpu: CpuTimes | None = None
        self._prev_net: dict[str, int] | None = None
        self._prev_net_at: datetime | None = None

    def _read(self, relative: str) -> str | None:
        try:
            return (self.proc_root / relative).read_text()
        except (OSError, UnicodeDecodeError):
            return None

    def _read_stat(self) -> CpuTimes | None:
        text = self._read("stat")
        if text is None:
            return None
        try:
            return parse_stat(text)
        except (ValueError, IndexError):
            return None

    def sample(self) -> list[Sample]:
        with self._lock:
            return self._sample()

    def _sample(self) -> list[Sample]:
        values: dict[str, float] = {}
        read_any = False

        cpu = self._read_stat()
        if cpu is not None and self._prev_cpu is None:
            # First call: a baseline reading, a short pause, then the real one.
            self._prev_cpu = cpu
            self.sleep(self.first_interval)
            cpu = self._read_stat()
        if cpu is not None:
            read_any = True
            previous, self._prev_cpu = self._prev_cpu, cpu
            if previous is not None:
                d_total = cpu.total - previous.total
                d_idle = cpu.idle - previous.idle
                if d_total > 0 and d_idle >= 0:
                    values["cpu"] = _clamp_percent((d_total - d_idle) / d_total * 100.0)

        memory = self._read("meminfo")
        if memory is not None:
            try:
                values["memory"] = parse_meminfo(memory)
                read_any = True
            except (ValueError, KeyError, IndexError):
                pass

        loadavg = self._read("loadavg")
        if loadavg is not None and cpu is not None and cpu.count > 0:
            try:
                values["load"] = max(0.0, parse_loadavg(loadavg) / cpu.count * 100.0)
                read_any = True
            except (ValueError, IndexError):
                pass

        try:
            values["disk"] = disk_used_percent(self.disk_path)
            read_any = True
        except (OSError, ValueError):
            pass

        at = self.clock()

        net_text = self._read("net/dev")
        net: dict[str, int] | None = None
        if net_text is not None:
            try:
                net = parse_net_dev(net_text)
            except (ValueError, IndexError):
                net = None
        if net is not None:
            read_any = True
            if self._prev_net is None or self._prev_net_at is None:
                self._prev_net, self._prev_net_at = net, at
            else:
                elapsed = (at - self._prev_net_at).total_seconds()
                if elapsed > 0:  # otherwise keep the baseline until time has passed
                    increase = 0
                    for name, count in net.items():
                        before = self._prev_net.get(name)
                        if before is None:
                            continue  # a new interface: its counters are the next baseline
                        # A counter that went down was reset: count from zero.
                        increase += count - before if count >= before else count
                    values["network_errors"] = increase / elapsed * 3600.0
                    self._prev_net, self._prev_net_at = net, at

        if not read_any:
            raise SourceUnavailable(
                f"Host metrics are unavailable: nothing under {self.proc_root} "
                f"or at {self.disk_path} could be read."
            )
        return [Sample(source=SOURCE, metric=name, at=at, value=value)
                for name, value in values.items()]
