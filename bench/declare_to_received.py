"""Declare to every stakeholder told (`make bench`): `incident-response critical outage
production --no-tui` run as a process, timed from its start until every configured stand-in
vendor (PagerDuty, Slack, Statuspage, e-mail, SMS, the signed webhook; contract fakes on
127.0.0.1) has accepted every request the comms matrix sends for that incident, p50/p99;
(a) with nothing else running (the command's own delivery attempt after its commit) and
(b) with `incident-response watch` delivering the same database. Each next to the bare
process start of `incident-response --version`, measured in the same rounds. Nothing fails
on a time: each goal is printed with "met" or "missed" (bench/README.md).

    .venv/bin/python bench/declare_to_received.py [--quick] [--rounds N] [--keep]
"""
from __future__ import annotations

import argparse
import email
import email.policy
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from automation.shell_delivery import BUDGET_S  # noqa: E402
from bench.goals import Goal, condition, print_goals  # noqa: E402
from bench.run import machine_info, percentile, utc_now  # noqa: E402
from playbooks.config import Configuration  # noqa: E402
from reports.configuration import toml_key, toml_value  # noqa: E402
from tests.support import lifetime, slack_fake, statuspage_fake, twilio_fake  # noqa: E402
from tests.support.pagerduty_fake import ROUTING_KEY, PagerDutyFake  # noqa: E402

# The SMTP server (aiosmtpd) and the webhook receiver that checks signatures live with the
# e-mail/SMS/webhook tests; the comms end-to-end tests use them from there too.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from tests.integrations.test_email_sms_webhook import (  # noqa: E402
        SMTP_PASSWORD, SMTP_USER, WEBHOOK_SECRET, Receiver, SMTPServer,
    )

# The loopback SMTP server takes AUTH without TLS on purpose (nothing leaves this host);
# aiosmtpd says so, and more, on its log for every session.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
logging.getLogger("mail.log").setLevel(logging.ERROR)

IR = str(Path(sys.executable).parent / "incident-response")
RESULTS = ROOT / "bench" / "results" / "declare_to_received.json"
FULL = {"rounds": 20, "warmup": 2}
QUICK = {"rounds": 5, "warmup": 1}
ROUND_TIMEOUT_S = 30.0  # a round whose stand-ins are not all told by then counts as not told
STAND_INS = ("pagerduty", "slack", "statuspage", "email", "sms", "webhook")
ON_CALL = ["+14155550100", "+447700900123"]
EXECUTIVE = {"name": "cto", "sms": "+14155550199", "email": "cto@example.com"}
LEADS = ["eng-leads@example.com"]
SUPPORT = ["support-leads@example.com"]

# Issue 12, acceptance 8: a declare from the shell pages "within a few seconds"; the command
# gives its own delivery attempt BUDGET_S seconds after its commit, so everybody is told
# within that budget (bench/README.md).
ALONE = Goal("declare to every stand-in, CLI alone, p99", "ms", at_most=BUDGET_S * 1000)
WITH_WATCH = Goal("declare to every stand-in, with watch, p99", "ms", at_most=BUDGET_S * 1000)


class Heard:
    """What every stand-in accepted, each with the moment it arrived; a waiter is woken by
    each arrival (no polling). Each fake's record of accepted requests is replaced by a list
    that also reports here when the fake appends to it."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.arrivals: dict[str, list[tuple[float, str]]] = {name: [] for name in STAND_INS}

    def listen(self, name: str, owner: Any, attribute: str, text_of: Callable[[Any], str]) -> None:
        heard = self

        class Reporting(list):
            def append(self, item: Any) -> None:
                at = time.perf_counter()
                super().append(item)
                heard.arrived(name, at, text_of(item))

        setattr(owner, attribute, Reporting(getattr(owner, attribute)))

    def arrived(self, name: str, at: float, text: str) -> None:
        with self.changed:
            self.arrivals[name].append((at, text))
            self.changed.notify_all()

    def times_for(self, incident_id: str) -> dict[str, list[float]]:
        """When each stand-in accepted a request about the incident (its id is in every one)."""
        named = re.compile(re.escape(incident_id) + r"(?!\d)")  # INC-…-001, not INC-…-0012
        with self.changed:
            return {name: [at for at, text in seen if named.search(text)] for name, seen in self.arrivals.items()}

    def wait_for(self, incident_id: str, expected: dict[str, int], timeout: float) -> dict[str, list[float]]:
        """Until each stand-in has accepted `expected[name]` requests about the incident (or
        the timeout); the arrival times of those seen."""
        def told() -> bool:
            seen = self.times_for(incident_id)
            return all(len(seen[name]) >= count for name, count in expected.items())

        with self.changed:
            self.changed.wait_for(told, timeout)
        return self.times_for(incident_id)

    def total(self, name: str) -> int:
        with self.changed:
            return len(self.arrivals[name])


def mail_text(envelope: Any) -> str:
    """The subject as the reader sees it (an em dash in it makes it an encoded word)."""
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    return str(message["subject"] or "")


def signed_text(request: dict[str, Any]) -> str:
    """Only a request whose signature the receiver verified counts as received."""
    return request["body"].decode("utf-8", "replace") if request["valid"] else ""


def posted_text(call: tuple[str, dict[str, Any]]) -> str:
    method, body = call
    return json.dumps(body) if method == "chat.postMessage" else ""


class StandIns:
    """The six stand-in vendors on loopback ports, each reporting its arrivals to `heard`."""

    def __init__(self) -> None:
        self.heard = Heard()
        self.pagerduty = PagerDutyFake()
        self.slack = slack_fake.SlackFake()
        self.statuspage = statuspage_fake.StatuspageFake()
        self.twilio = twilio_fake.TwilioFake()
        self.smtp = SMTPServer()
        self.webhook = Receiver(WEBHOOK_SECRET)
        listen = self.heard.listen
        listen("pagerduty", self.pagerduty, "requests", json.dumps)
        listen("slack", self.slack, "api_calls", posted_text)
        listen("statuspage", self.statuspage, "requests", json.dumps)
        listen("sms", self.twilio, "messages", lambda message: message["body"])
        listen("email", self.smtp.mailbox, "envelopes", mail_text)
        listen("webhook", self.webhook, "requests", signed_text)

    def secrets(self) -> dict[str, str]:
        return {"PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "SLACK_BOT_TOKEN": slack_fake.TOKEN,
                "STATUSPAGE_API_KEY": statuspage_fake.API_KEY, "TWILIO_AUTH_TOKEN": twilio_fake.AUTH_TOKEN,
                "SMTP_USERNAME": SMTP_USER, "SMTP_PASSWORD": SMTP_PASSWORD,
                "IR_WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET}

    def close(self) -> None:
        for fake in (self.pagerduty, self.slack, self.statuspage, self.twilio, self.webhook):
            fake.close()
        self.smtp.stop()


def config_tables(stand_ins: StandIns) -> tuple[dict[str, dict[str, Any]], bool]:
    """config.toml's tables, every integration pointed at its stand-in, and whether the
    Executive Team has a member with an SMS number (when config.toml knows contacts)."""
    email_recipients = {"Engineering Leads": LEADS, "Customer Support": SUPPORT}
    tables: dict[str, dict[str, Any]] = {
        "sources.host": {"enabled": False},  # no host metrics: the rounds alone make the load
        "integrations.pagerduty": {"url": stand_ins.pagerduty.url},
        "integrations.slack": {"mode": "web_api", "url": stand_ins.slack.url, "incident_channel": "#incidents"},
        "integrations.statuspage": {"url": stand_ins.statuspage.url, "page_id": statuspage_fake.PAGE_ID,
                                    "component_mapping": False},
        "integrations.sms": {"url": stand_ins.twilio.url, "account_sid": twilio_fake.ACCOUNT_SID,
                             "from_number": twilio_fake.FROM_NUMBER, "on_call_contacts": ON_CALL},
        "integrations.email": {"host": "127.0.0.1", "port": stand_ins.smtp.port, "sender": "incidents@example.com",
                               "starttls": False, "recipients": email_recipients},
        "integrations.webhook": {"url": stand_ins.webhook.url},
    }
    members = {"contacts", "groups"} <= set(Configuration.model_fields)
    if members:
        tables[f"contacts.{EXECUTIVE['name']}"] = {"sms": EXECUTIVE["sms"], "email": EXECUTIVE["email"]}
        tables['groups."Executive Team"'] = {"members": [EXECUTIVE["name"]]}
    return tables, members


def toml_of(tables: dict[str, dict[str, Any]]) -> str:
    lines = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{toml_key(key)} = {toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


class Declarer:
    """The rounds: each starts `incident-response critical outage production --no-tui` and
    waits until every stand-in has accepted its requests for the new incident."""

    def __init__(self, stand_ins: StandIns, env: dict[str, str]) -> None:
        self.stand_ins, self.env = stand_ins, env
        self.expected: dict[str, int] = {}
        self.seq = 0

    def version_start_ms(self) -> float:
        """The baseline: the same program's bare start (`--version`), whole process."""
        started = time.perf_counter()
        done = lifetime.run([IR, "--version"], env=self.env, capture_output=True, timeout=60)
        if done.returncode != 0:
            raise SystemExit(f"`incident-response --version` failed: {done.stderr.decode()[-500:]}")
        return (time.perf_counter() - started) * 1000

    def declare(self) -> dict[str, Any]:
        """One round: the incident, ms until each stand-in had all of its requests (None: not
        within ROUND_TIMEOUT_S), ms until every one had, the process's own time, its stderr."""
        self.seq += 1
        started = time.perf_counter()
        child = lifetime.popen([IR, "critical", "outage", "production", "--title", f"Bench round {self.seq}",
                                "--service", "checkout", "--no-tui"], env=self.env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        # A command that hangs is killed, so a round is bounded even then.
        watchdog = threading.Timer(2 * ROUND_TIMEOUT_S, child.kill)
        watchdog.start()
        try:
            return self._told(child, started)
        finally:
            watchdog.cancel()

    def _told(self, child: subprocess.Popen, started: float) -> dict[str, Any]:
        incident_id = child.stdout.readline().strip()  # printed (flushed) right after the commit
        if not incident_id.startswith("INC-"):
            _, err = child.communicate(timeout=60)
            raise SystemExit(f"the declare printed no incident id: {err.strip()[-500:]}")
        expected = self.expected or {name: 1 for name in STAND_INS}
        self.stand_ins.heard.wait_for(incident_id, expected, ROUND_TIMEOUT_S)
        _, err = child.communicate(timeout=60)
        exited = time.perf_counter()
        times = self.stand_ins.heard.times_for(incident_id)  # all of them, late ones too
        each = {name: ((sorted(times[name])[expected[name] - 1] - started) * 1000
                       if len(times[name]) >= expected[name] else None) for name in expected}
        complete = all(value is not None for value in each.values())
        each.update({name: None for name in STAND_INS if name not in expected})
        return {"incident": incident_id, "stand_ins_ms": each,
                "all_ms": max(each.values()) if complete else None,
                "process_ms": (exited - started) * 1000, "told": err.strip().splitlines(),
                "exit": child.returncode, "counts": {name: len(times[name]) for name in STAND_INS}}

    def calibrate(self) -> dict[str, Any]:
        """An untimed first round with nothing else running: how many requests each stand-in
        accepts for one SEV-1 (the comms matrix decides), the count each later round waits for."""
        first = self.declare()
        # The command has exited: what it told has arrived. Late extras would show as more
        # requests than expected in the later rounds' totals.
        self.expected = {name: count for name, count in first["counts"].items() if count > 0}
        return first


class Watching:
    """`incident-response watch` on the same database, ready (it has said what it watches and
    where it delivers) before the rounds; its output is read to the end so that it never
    blocks on a full pipe."""

    READY_TIMEOUT_S = 60.0

    def __init__(self, env: dict[str, str]) -> None:
        self.process = lifetime.popen([IR, "watch", "--seconds", "1800"], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.ended = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(self.READY_TIMEOUT_S) or self.ended.is_set():
            self.stop()
            raise SystemExit(f"`incident-response watch` did not start: {' / '.join(self.lines)[-500:]}")

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("watching "):
                self.ready.set()
        self.ended.set()
        self.ready.set()  # it ended before it was ready: the waiter finds out at once
        if not any(line.startswith("watching ") for line in self.lines):
            self.lines.append(f"(exit {self.process.wait()})")

    def stop(self) -> None:
        self.process.terminate()  # SIGTERM: watch stops its loop and closes its deliverer
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def run_mode(declarer: Declarer, params: dict[str, int]) -> tuple[list[dict[str, Any]], list[float]]:
    """Warm-up rounds, then the timed ones, each after one `--version` start (interleaved, so
    a busy machine slows both alike)."""
    for _ in range(params["warmup"]):
        declarer.version_start_ms()
        declarer.declare()
    rounds, baseline = [], []
    for _ in range(params["rounds"]):
        baseline.append(declarer.version_start_ms())
        rounds.append(declarer.declare())
    return rounds, baseline


def figures(rounds: list[dict[str, Any]], baseline: list[float]) -> dict[str, Any]:
    told = [r["all_ms"] for r in rounds if r["all_ms"] is not None]
    per_stand_in = {}
    for name in STAND_INS:
        values = [r["stand_ins_ms"][name] for r in rounds if r["stand_ins_ms"][name] is not None]
        per_stand_in[name] = {"p50": percentile(values, 50), "p99": percentile(values, 99)} if values else None
    return {"n": len(rounds), "complete": len(told),
            "p50_ms": percentile(told, 50) if told else None, "p99_ms": percentile(told, 99) if told else None,
            "process_p50_ms": percentile([r["process_ms"] for r in rounds], 50),
            "baseline_p50_ms": percentile(baseline, 50), "baseline_p99_ms": percentile(baseline, 99),
            "per_stand_in": per_stand_in,
            "samples_ms": [None if v is None else round(v, 2) for v in (r["all_ms"] for r in rounds)],
            "baseline_samples_ms": [round(v, 2) for v in baseline]}


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def table(modes: dict[str, dict[str, Any]]) -> str:
    head = ("declare -> every stand-in received", "n", "p50", "p99", "--version p50", "--version p99",
            "ratio p50", "ratio p99")
    body = []
    for label, f in modes.items():
        ratio = lambda a, b: "-" if a is None else f"{a / b:.1f}x"  # noqa: E731
        body.append((label, f"{f['complete']}/{f['n']}", ms(f["p50_ms"]), ms(f["p99_ms"]), ms(f["baseline_p50_ms"]),
                     ms(f["baseline_p99_ms"]), ratio(f["p50_ms"], f["baseline_p50_ms"]),
                     ratio(f["p99_ms"], f["baseline_p99_ms"])))
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    fmt = lambda line: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                 for i, (c, w) in enumerate(zip(line, widths)))
    return "\n".join([fmt(head), "-" * len(fmt(head)), *map(fmt, body)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--rounds", type=int, help="timed rounds per mode (default 20; --quick 5)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and print where it is")
    args = parser.parse_args(argv)
    params = dict(QUICK if args.quick else FULL)
    if args.rounds is not None:
        if not 1 <= args.rounds <= 1000:
            parser.error(f"--rounds {args.rounds} is out of range; accepted: 1 to 1000")
        params["rounds"] = args.rounds
    began = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="ir-bench-declare-"))
    stand_ins = StandIns()
    watch = None
    try:
        info = machine_info(tmp)
        print(f"machine: {info['cpu_count']} cpus, Python {info['python']}, SQLite {info['sqlite']}, "
              f"SQLAlchemy {info['sqlalchemy']}, temp dir on {info['tmp_dir_fs']}")
        tables, members = config_tables(stand_ins)
        config = tmp / "config.toml"
        config.write_text(toml_of(tables))
        config.chmod(0o600)
        env = dict(os.environ, IR_CONFIG=str(config), IR_DATABASE_URL=f"sqlite:///{tmp / 'incidents.db'}",
                   XDG_CONFIG_HOME=str(tmp / "config"), XDG_DATA_HOME=str(tmp / "data"),
                   XDG_STATE_HOME=str(tmp / "state"), **stand_ins.secrets())
        env.pop("IR_NOW", None)  # the real clock: a message is due when it is written
        declarer = Declarer(stand_ins, env)
        print(f"mode: {'quick' if args.quick else 'full'}; {params['rounds']} timed rounds per mode after "
              f"{params['warmup']} warm-up; times in ms from starting the process; ratio = declare / --version",
              flush=True)
        first = declarer.calibrate()
        if not members:
            print("note: config.toml has no [contacts]/[groups] yet, so SMS texts the on-call contacts, "
                  "not an Executive Team member")
        elif EXECUTIVE["sms"] not in stand_ins.twilio.texted():
            print(f"note: the Executive Team's member ({EXECUTIVE['sms']}) was not texted for a SEV-1")
        print("one SEV-1 is told to: " + ", ".join(
            f"{name} {declarer.expected.get(name, 0)}" for name in STAND_INS) + " (requests accepted per stand-in)")
        for line in first["told"]:
            print(f"  {line}")
        alone, alone_base = run_mode(declarer, params)
        watch = Watching(env)
        with_watch, watch_base = run_mode(declarer, params)
        watch.stop()
        # Who delivered in the second mode: watch prints "<integration> <event> <id>: sent (...)".
        watched = {r["incident"] for r in with_watch}
        by_watch = sum(1 for line in watch.lines
                       if ": sent (" in line and line.split(":")[0].split(" ")[-1] in watched)
        messages = sum(len(r["told"]) for r in with_watch)
        watch = None
        elapsed = time.perf_counter() - began
        modes = {"CLI alone (its own attempt)": figures(alone, alone_base),
                 "with `watch` running": figures(with_watch, watch_base)}
        print()
        print(table(modes))
        print()
        print("per stand-in, p50 / p99 (CLI alone | with watch): " + "; ".join(
            f"{name} {_pair(modes, name)}" for name in STAND_INS))
        # Each message once: every stand-in's total is what the rounds asked for (a deliverer
        # claims a row before sending, so the command and watch never both send it).
        declared = 1 + 2 * (params["warmup"] + params["rounds"])
        totals = {name: stand_ins.heard.total(name) for name in STAND_INS}
        wanted = {name: declarer.expected.get(name, 0) * declared for name in STAND_INS}
        print(f"with watch running, watch sent {by_watch} of the rounds' {messages} messages, the command the rest")
        print("requests accepted in all, per stand-in: "
              + ", ".join(f"{name} {totals[name]}/{wanted[name]}" for name in STAND_INS))
        print()
        untold = [name for name in STAND_INS if name not in declarer.expected]
        verdicts = [
            condition("every configured stand-in told of a SEV-1", "all 6", not untold,
                      "all 6" if not untold else f"none to {', '.join(untold)}"),
        ]
        for goal, f in ((ALONE, modes["CLI alone (its own attempt)"]), (WITH_WATCH, modes["with `watch` running"])):
            missing = f["n"] - f["complete"]
            verdicts.append(goal.check(None if missing else f["p99_ms"], why_missing=(
                f"{missing} of {f['n']} rounds: a stand-in not told within {ROUND_TIMEOUT_S:.0f} s")))
        verdicts.append(condition("each message received once, with watch beside the CLI", "no duplicate",
                                  totals == wanted, ", ".join(f"{n} {totals[n]}/{wanted[n]}" for n in STAND_INS)))
        print_goals(verdicts)
        print(f"total {elapsed:.0f}s; results in {RESULTS.relative_to(ROOT)}")
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({
            "when": utc_now().isoformat(timespec="seconds") + "Z", "mode": "quick" if args.quick else "full",
            "machine": info, "params": params, "elapsed_s": elapsed, "executive_member_sms": members,
            "expected_per_incident": declarer.expected, "totals": totals, "totals_wanted": wanted,
            "with_watch_sent_by_watch": by_watch, "with_watch_messages": messages,
            "alone": modes["CLI alone (its own attempt)"], "with_watch": modes["with `watch` running"],
            "rounds": {"alone": alone, "with_watch": with_watch}, "goals": [v.as_json() for v in verdicts],
        }, indent=2) + "\n")
    finally:
        if watch is not None:
            watch.stop()
        stand_ins.close()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _pair(modes: dict[str, dict[str, Any]], name: str) -> str:
    parts = []
    for f in modes.values():
        each = f["per_stand_in"][name]
        parts.append("-" if each is None else f"{each['p50']:.0f}/{each['p99']:.0f}")
    return " | ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
