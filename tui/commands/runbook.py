"""`incident-response runbook`: run a response action from the playbook's allowlist, on
this host, after the person has read the exact command and confirmed it.

  incident-response runbook                          list the runbooks and their parameters
  incident-response runbook ID NAME [KEY=VALUE]... [--yes]

Without --yes it asks in a terminal and refuses elsewhere; the run is recorded on the
incident's timeline. Exits 1 when the command failed or was not run.
"""
from __future__ import annotations

import argparse

HELP = {"runbook": "run a response action from the playbook's allowlist, after you confirm the exact command"}


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", nargs="?")
    parser.add_argument("name", nargs="?")
    parser.add_argument("params", nargs="*", metavar="KEY=VALUE")
    parser.add_argument("--yes", action="store_true", help="confirm without asking (you have read the command)")


def run(name: str, ctx, args: argparse.Namespace) -> int:
    from playbooks.runbooks import find, prepare, values_from_assignments
    from tui import cli  # looked up when run: tests replace cli._interactive

    if not args.name:
        for runbook in ctx.policy.runbooks.runbooks:
            params = " ".join(f"{name}=<{spec.type}>" for name, spec in runbook.params.items())
            print(f"{runbook.name} {params}\n    {runbook.description}")
        return 0
    command = prepare(find(ctx.policy, args.name), values_from_assignments(args.params))
    incident_id = ctx.detail(args.id).id
    print(f"Will run on this host: {command.shown()}")
    if not args.yes:
        if not cli._interactive():
            raise cli.UsageError("not confirmed; accepted: --yes after reading the command, or run it in a terminal")
        if input("Run it? [y/N] ").strip().lower() not in ("y", "yes"):
            print("Not run.")
            return 1
    from automation.runbook import run_confirmed
    from store.activity_log import activity_log_from_config

    outcome = run_confirmed(ctx.store, incident_id, command, actor=ctx.actor, confirmed_by=ctx.actor,
                            activity=activity_log_from_config(ctx.configuration, clock=ctx.store.now))
    print(outcome.summary)
    if outcome.output:
        print(outcome.output)
    return 0 if outcome.exit_code == 0 else 1
