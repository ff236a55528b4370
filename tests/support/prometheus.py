"""A real Prometheus (Debian's package) for the test session, scraping a tiny exporter
whose gauges the test sets; on 127.0.0.1 with free ports, stopped after."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from tests.support.postgres import free_port


class Unavailable(Exception):
    pass


class Exporter:
    """/metrics with gauges the test sets: `exporter.set("error_rate_percent", 60)`."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                body = "".join(f"# TYPE {k} gauge\n{k} {v}\n" for k, v in exporter.values.items()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, name: str, value: float) -> None:
        self.values[name] = value

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Prometheus:
    def __init__(self, exporter_port: int, scrape_interval: str = "1s", extra_config: str = "",
                 rule_files: dict[str, str] | None = None) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise Unavailable("the prometheus binary is not installed (Debian package prometheus)")
        self.dir = Path(tempfile.mkdtemp(prefix="ir-prom-"))
        self.port = free_port()
        rules = ""
        for name, text in (rule_files or {}).items():
            (self.dir / name).write_text(text)
            rules += f"  - {self.dir / name}\n"
        (self.dir / "prometheus.yml").write_text(
            f"global:\n  scrape_interval: {scrape_interval}\n  evaluation_interval: {scrape_interval}\n"
            + (f"rule_files:\n{rules}" if rules else "")
            + f"scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n"
            + extra_config)
        self.log = open(self.dir / "log", "w")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={self.dir / 'prometheus.yml'}", f"--storage.tsdb.path={self.dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.close()
        raise Unavailable(f"prometheus did not become ready: {(self.dir / 'log').read_text()[-400:]}")

    def value(self, expression: str) -> float | None:
        body = httpx.get(f"{self.url}/api/v1/query", params={"query": expression}, timeout=5).json()
        result = body["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Alertmanager:
    """A real Alertmanager (Debian's prometheus-alertmanager) whose one receiver is a
    webhook to `webhook_url`, sending with a bearer token; quick grouping for tests.

    `receivers` replaces that webhook with the given YAML list of receivers (the first one
    is the route's receiver), e.g. Alertmanager's own pagerduty_configs / opsgenie_configs /
    slack_configs pointed at the contract fakes."""

    def __init__(self, webhook_url: str = "", token: str = "", quick: bool = True, *,
                 receivers: str | None = None, cluster: bool = True) -> None:
        binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        if binary is None:
            raise Unavailable("the alertmanager binary is not installed (Debian package prometheus-alertmanager)")
        self.dir = Path(tempfile.mkdtemp(prefix="ir-am-"))
        self.port = free_port()
        cluster_port = free_port()
        # quick=False keeps Alertmanager's own defaults (group_wait 30s, group_interval 5m).
        timing = "  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n" if quick else ""
        if receivers is None:
            receivers = ("  - name: incident-response\n    webhook_configs:\n"
                         f"      - url: '{webhook_url}'\n        send_resolved: true\n"
                         f"        http_config:\n          authorization:\n            credentials: '{token}'\n")
        first = receivers.split("name:", 1)[1].splitlines()[0].strip().strip("'\"")
        (self.dir / "alertmanager.yml").write_text(
            f"route:\n  receiver: {first}\n  group_by: ['alertname']\n" + timing + "receivers:\n" + receivers)
        self.log = open(self.dir / "log", "w")
        # cluster=False runs without gossip (an empty listen address), so the first
        # notification does not wait for the cluster to settle.
        gossip = ([f"--cluster.listen-address=127.0.0.1:{cluster_port}", "--cluster.advertise-address=127.0.0.1:9094"]
                  if cluster else ["--cluster.listen-address="])
        self.proc = subprocess.Popen(
            [binary, f"--config.file={self.dir / 'alertmanager.yml'}", f"--storage.path={self.dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", *gossip],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.close()
        raise Unavailable(f"alertmanager did not become ready: {(self.dir / 'log').read_text()[-400:]}")

    def post_alert(self, labels: dict[str, str], annotations: dict[str, str], *, resolved: bool = False) -> None:
        from datetime import datetime, timedelta, timezone

        now = datetime.now(timezone.utc)
        alert = {"labels": labels, "annotations": annotations, "startsAt": (now - timedelta(minutes=1)).isoformat()}
        if resolved:
            alert["endsAt"] = (now - timedelta(seconds=1)).isoformat()
        response = httpx.post(f"{self.url}/api/v2/alerts", json=[alert], timeout=5)
        response.raise_for_status()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
