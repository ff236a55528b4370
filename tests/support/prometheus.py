"""A real Prometheus (Debian's package) for the test session, scraping a tiny exporter
whose gauges the test sets; on 127.0.0.1 with free ports, stopped after. Both servers
are started through tests/support/lifetime.py, so they die with the test process."""
from __future__ import annotations

import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from tests.support import lifetime
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

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # the kernel picks a free port
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, name: str, value: float) -> None:
        self.values[name] = value

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Served:
    """A server binary started on a free loopback port, ready when /-/ready answers 200."""

    name = ""
    dir: object
    proc: subprocess.Popen
    log: object

    def _serve(self, argv_for_port) -> None:
        # A free port can be taken by someone else (another xdist worker) before the server
        # binds it: then it exits at once saying so, and it is started again on another port.
        for attempt in range(3):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.log = open(self.dir / "log", "w")
            self.proc = lifetime.popen(argv_for_port(self.port), stdin=subprocess.DEVNULL, stdout=self.log,
                                       stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
            log = (self.dir / "log").read_text(errors="replace")
            if attempt < 2 and self.proc.poll() is not None and "address already in use" in log:
                self.log.close()
                continue
            self.close()
            raise Unavailable(f"{self.name} did not become ready: {log[-400:]}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Prometheus(_Served):
    name = "prometheus"

    def __init__(self, exporter_port: int, scrape_interval: str = "1s", extra_config: str = "",
                 rule_files: dict[str, str] | None = None) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise Unavailable("the prometheus binary is not installed (Debian package prometheus)")
        self.dir = lifetime.owned_temp_dir("ir-prom-")
        rules = ""
        for name, text in (rule_files or {}).items():
            (self.dir / name).write_text(text)
            rules += f"  - {self.dir / name}\n"
        (self.dir / "prometheus.yml").write_text(
            f"global:\n  scrape_interval: {scrape_interval}\n  evaluation_interval: {scrape_interval}\n"
            + (f"rule_files:\n{rules}" if rules else "")
            + f"scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n"
            + extra_config)
        self._serve(lambda port: [binary, f"--config.file={self.dir / 'prometheus.yml'}",
                                  f"--storage.tsdb.path={self.dir / 'data'}", f"--web.listen-address=127.0.0.1:{port}"])

    def value(self, expression: str) -> float | None:
        body = httpx.get(f"{self.url}/api/v1/query", params={"query": expression}, timeout=5).json()
        result = body["data"]["result"]
        return float(result[0]["value"][1]) if result else None


class Alertmanager(_Served):
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
        self.dir = lifetime.owned_temp_dir("ir-am-")
        # quick=False keeps Alertmanager's own defaults (group_wait 30s, group_interval 5m).
        timing = "  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n" if quick else ""
        if receivers is None:
            receivers = ("  - name: incident-response\n    webhook_configs:\n"
                         f"      - url: '{webhook_url}'\n        send_resolved: true\n"
                         f"        http_config:\n          authorization:\n            credentials: '{token}'\n")
        first = receivers.split("name:", 1)[1].splitlines()[0].strip().strip("'\"")
        (self.dir / "alertmanager.yml").write_text(
            f"route:\n  receiver: {first}\n  group_by: ['alertname']\n" + timing + "receivers:\n" + receivers)
        # cluster=False runs without gossip (an empty listen address), so the first
        # notification does not wait for the cluster to settle.

        def argv(port: int) -> list[str]:
            gossip = ([f"--cluster.listen-address=127.0.0.1:{free_port()}", "--cluster.advertise-address=127.0.0.1:9094"]
                      if cluster else ["--cluster.listen-address="])
            return [binary, f"--config.file={self.dir / 'alertmanager.yml'}", f"--storage.path={self.dir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}", *gossip]

        self._serve(argv)

    def post_alert(self, labels: dict[str, str], annotations: dict[str, str], *, resolved: bool = False) -> None:
        from datetime import datetime, timedelta, timezone

        now = datetime.now(timezone.utc)
        alert = {"labels": labels, "annotations": annotations, "startsAt": (now - timedelta(minutes=1)).isoformat()}
        if resolved:
            alert["endsAt"] = (now - timedelta(seconds=1)).isoformat()
        response = httpx.post(f"{self.url}/api/v2/alerts", json=[alert], timeout=5)
        response.raise_for_status()

