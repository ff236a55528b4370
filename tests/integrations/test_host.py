"""HostMetrics against a fake /proc with known numbers, and once against the real one."""
from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from integrations import host as host_module
from integrations.errors import SourceUnavailable
from integrations.host import HostMetrics
from playbooks.samples import Sample

NET_HEADER = (
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast"
    "|bytes    packets errs drop fifo colls carrier compressed\n"
)


def stat_text(user, nice, system, idle, iowait, irq=0, softirq=0, steal=0, guest=0, guest_nice=0,
              cpus=4) -> str:
    line = f"cpu  {user} {nice} {system} {idle} {iowait} {irq} {softirq} {steal} {guest} {guest_nice}\n"
    per_cpu = "".join(f"cpu{i} 1 0 1 1 0 0 0 0 0 0\n" for i in range(cpus))
    return line + per_cpu + "intr 12345 0 0\nctxt 999\nbtime 1700000000\nprocesses 42\n"


def net_line(name, rx_errs=0, rx_drop=0, tx_errs=0, tx_drop=0) -> str:
    return (f"{name:>6}: 1000 10 {rx_errs} {rx_drop} 0 0 0 0 "
            f"2000 20 {tx_errs} {tx_drop} 0 0 0 0\n")


class FakeProc:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "net").mkdir(parents=True, exist_ok=True)

    def write(self, relative: str, text: str) -> None:
        (self.root / relative).write_text(text)


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2024, 1, 18, 14, 30, 0)

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def proc(tmp_path) -> FakeProc:
    fake = FakeProc(tmp_path / "proc")
    fake.write("stat", stat_text(100, 0, 100, 700, 100, guest=10))
    fake.write("meminfo", "MemTotal:        8000000 kB\nMemFree:          500000 kB\n"
                          "MemAvailable:    2000000 kB\nBuffers:          100000 kB\n")
    fake.write("loadavg", "2.00 1.00 0.50 1/100 1234\n")
    fake.write("net/dev", NET_HEADER + net_line("lo", 99, 99, 99, 99)
               + net_line("eth0", 1, 2, 3, 4) + net_line("wlan0", 5, 0, 0, 0))
    return fake


@pytest.fixture
def fake_statvfs(monkeypatch):
    # used = 1000 - 300 = 700 blocks; usable = used + 100 available = 800 -> 87.5 %
    monkeypatch.setattr(host_module.os, "statvfs",
                        lambda path: SimpleNamespace(f_blocks=1000, f_bfree=300, f_bavail=100))


def by_metric(samples: list[Sample]) -> dict[str, float]:
    return {s.metric: s.value for s in samples}


def test_known_numbers_give_exact_percentages_and_rates(proc, fake_statvfs):
    clock = Clock()

    def sleep(seconds):
        # The second reading of the first call: +400 jiffies, 200 of them idle+iowait.
        # guest (already inside user) moves too and must not be counted twice.
        assert seconds == pytest.approx(0.2)
        proc.write("stat", stat_text(250, 0, 150, 850, 150, guest=60))

    metrics = HostMetrics(proc_root=proc.root, disk_path="/", clock=clock, sleep=sleep)
    first = metrics.sample()
    assert {s.source for s in first} == {"host"}
    assert {s.at for s in first} == {clock.moment}
    assert by_metric(first) == {
        "cpu": pytest.approx(50.0),
        "memory": pytest.approx(75.0),
        "load": pytest.approx(50.0),  # 2.00 over 4 CPUs
        "disk": pytest.approx(87.5),
    }  # no network_errors on the first call

    # Sixty seconds later: +1000 jiffies, 250 idle -> 75 % busy; eth0 errors 10 -> 20,
    # wlan0 5 -> 10, loopback changes ignored: 15 errors in 60 s = 900 per hour.
    clock.moment += timedelta(seconds=60)
    proc.write("stat", stat_text(950, 0, 200, 1050, 200, guest=60))
    proc.write("net/dev", NET_HEADER + net_line("lo", 500, 500, 500, 500)
               + net_line("eth0", 2, 4, 6, 8) + net_line("wlan0", 10, 0, 0, 0))
    proc.write("loadavg", "6.00 1.00 0.50 1/100 1234\n")
    second = by_metric(metrics.sample())
    assert second["cpu"] == pytest.approx(75.0)
    assert second["network_errors"] == pytest.approx(900.0)
    assert second["load"] == pytest.approx(150.0)  # an overloaded host reads above 100 %


def test_counter_reset_counts_from_zero_and_new_interfaces_start_a_baseline(proc, fake_statvfs):
    clock = Clock()
    metrics = HostMetrics(proc_root=proc.root, clock=clock, sleep=lambda s: None)
    metrics.sample()
    clock.moment += timedelta(minutes=30)
    # eth0 went from 10 to 3 (driver reloaded: 3 since the reset); eth1 is new.
    proc.write("net/dev", NET_HEADER + net_line("eth0", 3, 0, 0, 0)
               + net_line("wlan0", 5, 0, 0, 0) + net_line("eth1", 100, 0, 0, 0))
    assert by_metric(metrics.sample())["network_errors"] == pytest.approx(6.0)  # 3 in half an hour


def test_no_time_passed_keeps_the_network_baseline(proc, fake_statvfs):
    clock = Clock()
    metrics = HostMetrics(proc_root=proc.root, clock=clock, sleep=lambda s: None)
    metrics.sample()
    proc.write("net/dev", NET_HEADER + net_line("eth0", 11, 2, 3, 4) + net_line("wlan0", 5))
    assert "network_errors" not in by_metric(metrics.sample())
    clock.moment += timedelta(hours=1)
    assert by_metric(metrics.sample())["network_errors"] == pytest.approx(10.0)


def test_unchanged_stat_gives_no_cpu_rather_than_a_division_by_zero(proc, fake_statvfs):
    metrics = HostMetrics(proc_root=proc.root, clock=Clock(), sleep=lambda s: None)
    assert "cpu" not in by_metric(metrics.sample())


def test_missing_files_drop_only_their_metrics(tmp_path, fake_statvfs):
    fake = FakeProc(tmp_path / "proc")
    fake.write("meminfo", "MemTotal: 1000 kB\nMemAvailable: 900 kB\n")
    fake.write("loadavg", "1.0 1.0 1.0 1/1 1\n")  # no /proc/stat: no CPU count, so no load
    fake.write("net/dev", "garbage: not numbers\n")
    metrics = HostMetrics(proc_root=fake.root, clock=Clock(), sleep=lambda s: None)
    assert by_metric(metrics.sample()) == {"memory": pytest.approx(10.0), "disk": pytest.approx(87.5)}


def test_nothing_readable_raises_source_unavailable(tmp_path):
    metrics = HostMetrics(proc_root=tmp_path / "nope", disk_path=str(tmp_path / "nope" / "disk"),
                          clock=Clock(), sleep=lambda s: None)
    with pytest.raises(SourceUnavailable, match="Host metrics are unavailable"):
        metrics.sample()


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="needs Linux /proc")
def test_real_proc_of_this_machine():
    metrics = HostMetrics(first_interval=0.05)
    first = by_metric(metrics.sample())
    for name in ("memory", "disk"):
        assert 0.0 <= first[name] <= 100.0, (name, first[name])
    if "cpu" in first:  # absent only if no jiffy passed in 50 ms
        assert 0.0 <= first["cpu"] <= 100.0
    assert first["load"] >= 0.0  # per-CPU load may exceed 100 % on a busy host
    assert "network_errors" not in first
    second = by_metric(metrics.sample())
    if Path("/proc/net/dev").exists() and "network_errors" in second:
        assert second["network_errors"] >= 0.0
    assert os.statvfs("/")  # the default disk_path is readable here
