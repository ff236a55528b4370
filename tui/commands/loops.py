"""The loops, run headless from the shell: detection (`watch`), the alert receiver (`serve`)
and practice (`drill`).

  incident-response watch [--environment E] [--seconds S]     (Ctrl-C or SIGTERM stops)
  incident-response serve [--host H] [--port P]               (Ctrl-C or SIGTERM stops)
  incident-response drill [SCENARIO]                          (omit SCENARIO to list them)

watch and serve deliver the outbox themselves the whole time they run; what they see is
printed one line per event, stored and vendor text as data.
"""
from __future__ import annotations

import argparse

from playbooks.errors import one_line  # a tiny module: --help stays instant

HELP = {
    "watch": "run metric sources and detection rules headless (Ctrl-C stops)",
    "drill": "practise: play a scenario through the real rules (opens a drill incident)",
    "serve": "receive Alertmanager, Grafana and generic alert webhooks",
}


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    if name == "watch":
        parser.add_argument("--environment", default="production", help="environment of incidents rules open")
        parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    elif name == "drill":
        parser.add_argument("scenario", nargs="?", help="db-pool-exhaustion or credential-stuffing; omit to list")
    else:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8787)


def run(name: str, ctx, args: argparse.Namespace) -> int:
    {"watch": _watch, "drill": _drill, "serve": _serve}[name](ctx, args)
    return 0


def _watch(ctx, args: argparse.Namespace) -> None:
    import signal
    import sys
    import threading

    from automation.lease import DetectionLease
    from automation.loop import build_watch, has_work
    from tui.cli import UsageError

    environment = ctx.policy.environment(args.environment)
    lease = DetectionLease(ctx.store.db.url)
    # On PostgreSQL every host's watch runs: one leads detection, all deliver, and another
    # takes the lead within seconds if the leader dies. SQLite has one host: one watch.
    leads = lease.acquire()
    if not leads and not lease.across_hosts:
        raise UsageError("detection already runs for this database (another watch or an open command center); "
                         "accepted: one watch per database")
    watch = build_watch(ctx.store, ctx.configuration, environment=environment,
                        on_event=lambda line: print(one_line(line), flush=True), notifiers=ctx.notifiers)
    if not has_work(watch):
        raise UsageError("nothing to watch: no metric source and no integration is enabled; accepted: "
                         "[sources.host] enabled = true, [sources.prometheus], or [integrations.pagerduty]")
    from automation.stakeholders import Directory

    for sentence in Directory(ctx.configuration, ctx.policy).warnings():  # names from files: data
        print(f"warning: {one_line(sentence)}", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sources = watch.poller.sources
    print(f"watching {', '.join(s.name for s in sources) or 'no metric source'}; delivering to "
          f"{', '.join(ctx.notifiers) or 'no integration'}; rules: "
          f"{', '.join(r.name for r in ctx.store.policy.rules.rules)}", flush=True)
    if args.seconds is not None:
        timer = threading.Timer(args.seconds, stop.set)
        timer.daemon = True  # a SIGTERM or Ctrl-C before the time is up must not wait for it
        timer.start()
    if not leads:
        print("another process leads detection, escalation and nudges for this database; this one delivers "
              "and takes the lead if that one stops", flush=True)
    try:
        watch.run(stop, lease=lease if lease.across_hosts else None)
    except KeyboardInterrupt:
        stop.set()
    finally:
        lease.release()


def _drill(ctx, args: argparse.Namespace) -> None:
    from automation.drills import SCENARIOS, run_drill
    from tui.cli import UsageError

    if not args.scenario:
        for scenario in SCENARIOS.values():
            print(f"{scenario.name}: {scenario.description}")
        return
    if args.scenario not in SCENARIOS:
        raise UsageError(f"unknown drill {args.scenario!r}; accepted: {', '.join(SCENARIOS)}")
    ids = run_drill(ctx.store, args.scenario, actor=ctx.actor, on_event=lambda line: print(one_line(line), flush=True))
    print(f"Drill incident(s): {', '.join(ids) if ids else 'none opened'}")


def _serve(ctx, args: argparse.Namespace) -> None:
    from integrations.alert_receiver import serve
    from tui.cli import UsageError

    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is out of range; accepted: 1 to 65535")
    from automation.alert_intake import AlertIntake
    from automation.config import log_sources_from_config
    from automation.rule_actions import for_alerts
    from store.activity_log import activity_log_from_config

    # An alert naming a rule of rules.toml gets that rule's actions, its labels filling them.
    on_opened = for_alerts(ctx.store, log_sources=log_sources_from_config(ctx.configuration))
    serve(AlertIntake(ctx.store, on_opened=on_opened, heartbeats=ctx.configuration.heartbeats,
                     group_by=ctx.configuration.alerts.group_by),
          host=args.host, port=args.port,
          activity=activity_log_from_config(ctx.configuration, clock=ctx.store.now),
          on_start=lambda server: print(f"Listening on {one_line(server.url)} (/alerts/alertmanager, "
                                        "/alerts/grafana, /alerts/generic, /heartbeat/NAME); Ctrl-C or SIGTERM stops", flush=True),
          on_stopping=lambda server: print("Stopping: no new connections; answering the requests in flight",
                                           flush=True))
