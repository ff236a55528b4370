"""Health checks against real HTTP servers on 127.0.0.1, and config validation."""
from __future__ import annotations

import socket
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from integrations.health_checks import (
    HealthCheck,
    check_health,
    health_checks_from_config,
    run_health_checks,
)


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server():
    """A real HTTP server: /ok answers 200, /fail 500, /slow waits (up to 2 s) then 200."""
    release = threading.Event()
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            hits.append(self.path)
            if self.path == "/slow":
                release.wait(2.0)
            status = 500 if self.path == "/fail" else 200
            body = b"ok" if status == 200 else b"broken"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield base, hits
    finally:
        release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=2)


@pytest.fixture
def refused_url():
    """A port bound but not listening: connecting to it is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/health"
    finally:
        sock.close()


def values(samples):
    return {s.metric: s.value for s in samples}


def test_mixed_checks_run_concurrently_and_report_up_latency_availability(server, refused_url):
    base, hits = server
    at = datetime(2024, 1, 18, 14, 30, 0)
    checks = [
        HealthCheck("api", f"{base}/ok"),
        HealthCheck("db-proxy", f"{base}/fail"),
        HealthCheck("slow_one", f"{base}/slow", timeout=0.3),
        HealthCheck("gone", refused_url, timeout=0.3),
    ]
    started = time.monotonic()
    samples = run_health_checks(checks, clock=lambda: at)
    elapsed = time.monotonic() - started

    assert elapsed < 1.0, f"one slow check stalled the run: {elapsed:.2f}s"
    assert {s.source for s in samples} == {"health"}
    assert {s.at for s in samples} == {at}
    got = values(samples)
    assert set(got) == {
        "health.api.up", "health.api.latency",
        "health.db-proxy.up", "health.db-proxy.latency",
        "health.slow_one.up", "health.slow_one.latency",
        "health.gone.up", "health.gone.latency",
        "availability",
    }
    assert got["health.api.up"] == 1.0
    assert got["health.db-proxy.up"] == 0.0  # 500 where 200 was expected
    assert got["health.slow_one.up"] == 0.0
    assert got["health.gone.up"] == 0.0
    assert 0.0 <= got["health.api.latency"] < 0.3
    assert 0.3 <= got["health.slow_one.latency"] < 0.9  # about its timeout, in seconds
    assert got["health.gone.latency"] < 0.3
    assert got["availability"] == pytest.approx(25.0)
    assert "/ok" in hits and "/fail" in hits and "/slow" in hits


def test_expected_non_200_status_counts_as_up_and_passed_client_stays_open(server):
    base, _ = server
    with httpx.Client() as client:
        results = check_health([HealthCheck("teapot", f"{base}/fail", expect_status=500),
                                HealthCheck("api", f"{base}/ok", expect_status=204)], client=client)
        assert [r.up for r in results] == [True, False]
        assert results[0].status == 500
        assert results[1].error == "status 200, expected 204"
        assert not client.is_closed
        got = values(run_health_checks([HealthCheck("api", f"{base}/ok")], client=client))
        assert got.pop("health.api.latency") < 0.5
        assert got == {"health.api.up": 1.0, "availability": 100.0}
        assert not client.is_closed


@pytest.fixture
def trickle_url():
    """A raw server that dribbles its status line one byte every 50 ms, so no single
    read ever times out: only the run's own deadline can give up on it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve():
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                for byte in b"HTTP/1.1 200 OK\r\n" * 20:
                    if stop.wait(0.05):
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()


def test_a_trickling_server_is_given_up_at_its_deadline(trickle_url, server):
    base, _ = server
    started = time.monotonic()
    results = check_health([HealthCheck("trickle", trickle_url, timeout=0.3),
                            HealthCheck("api", f"{base}/ok")])
    assert time.monotonic() - started < 1.0
    assert [r.up for r in results] == [False, True]
    assert results[0].latency == 0.3
    assert results[0].error == "no answer within 0.3s"

def test_timeout_result_explains_itself(server):
    base, _ = server
    [result] = check_health([HealthCheck("slow", f"{base}/slow", timeout=0.2)])
    assert not result.up
    assert result.error == "no answer within 0.2s"
    assert result.latency >= 0.2


def test_no_checks_gives_no_samples():
    assert run_health_checks([]) == []


def test_config_parses_with_defaults():
    checks = health_checks_from_config([
        {"name": "api", "url": "https://api.example.com/healthz"},
        {"name": "web_1", "url": "http://10.0.0.5:8080/", "expect_status": 204, "timeout": 2},
    ])
    assert checks == [
        HealthCheck("api", "https://api.example.com/healthz", 200, 5.0),
        HealthCheck("web_1", "http://10.0.0.5:8080/", 204, 2.0),
    ]


@pytest.mark.parametrize("item, message", [
    ({"name": "api", "url": "ftp://example.com/"}, r"#1 \('api'\): url must be an http:// or https://"),
    ({"name": "api", "url": "http://"}, r"url must be an http:// or https:// URL with a host"),
    ({"name": "api", "url": 42}, r"url must be"),
    ({"name": "API", "url": "http://x/"}, r"name must be lowercase letters, digits"),
    ({"name": "a.b", "url": "http://x/"}, r"name must be"),
    ({"name": "", "url": "http://x/"}, r"name must be"),
    ({"name": "api", "url": "http://x/", "expect_status": 99}, r"expect_status must be an integer HTTP status from 100 to 599"),
    ({"name": "api", "url": "http://x/", "expect_status": 600}, r"expect_status must be"),
    ({"name": "api", "url": "http://x/", "expect_status": "200"}, r"expect_status must be"),
    ({"name": "api", "url": "http://x/", "expect_status": True}, r"expect_status must be"),
    ({"name": "api", "url": "http://x/", "timeout": 0}, r"timeout must be a number of seconds above 0 and at most 60"),
    ({"name": "api", "url": "http://x/", "timeout": 61}, r"timeout must be"),
    ({"name": "api", "url": "http://x/", "timeout": "5"}, r"timeout must be"),
    ({"name": "api"}, r"#1 \('api'\) is missing url"),
    ({"url": "http://x/"}, r"#1 is missing name"),
    ({"name": "api", "url": "http://x/", "method": "POST"}, r"unknown key\(s\) method; accepted keys are name, url"),
    ("http://x/", r"#1 must be a table"),
])
def test_config_errors_name_the_item_and_what_is_accepted(item, message):
    with pytest.raises(ValueError, match=message) as info:
        health_checks_from_config([item])
    text = str(info.value)
    assert text.count(". ") == 0 and text.endswith(".")  # one sentence


def test_config_rejects_duplicate_names_and_non_lists():
    with pytest.raises(ValueError, match=r"#2 \('api'\) repeats a name"):
        health_checks_from_config([{"name": "api", "url": "http://a/"}, {"name": "api", "url": "http://b/"}])
    with pytest.raises(ValueError, match="must be a list"):
        health_checks_from_config({"name": "api", "url": "http://a/"})


def test_direct_construction_validates_too():
    with pytest.raises(ValueError, match="timeout must be"):
        HealthCheck("api", "http://x/", timeout=-1)
