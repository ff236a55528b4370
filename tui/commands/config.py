"""The first hour of a new team: write a configuration, then check it.

  incident-response init [--playbooks] [--force]   a commented config.toml (owner-only) in the config folder
  incident-response config check [--online]        check it; where each secret comes from; who hears what
  incident-response config show                    the configuration in effect, secrets shown by name only

`config check` exits 0 when everything it looked at is ready, 1 when something is not (a
secret missing, a server not answering with --online), 2 when the file itself is refused.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

HELP = {
    "init": "write a commented config.toml (every table, commented out) to the config folder; "
            "--playbooks also copies the built-in playbooks there to edit",
    "config": "check: validate config.toml, resolve secrets (never printed), show who hears what; "
              "--online also reaches every source and integration. show: the configuration in effect",
}
CONFIG_ACTIONS = ("check", "show")


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    if name == "init":
        parser.add_argument("--playbooks", action="store_true",
                            help="also copy the built-in playbooks into the config folder's playbooks/ to edit")
        parser.add_argument("--force", action="store_true", help="replace an existing config.toml")
    else:
        parser.add_argument("action", choices=CONFIG_ACTIONS)
        parser.add_argument("--online", action="store_true",
                            help="check: ask each source for a sample and knock on each integration's server")
        parser.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                            help="check --online: how long each server may take (default 5)")


def run(name: str, ctx, args: argparse.Namespace) -> int:
    return _init(ctx, args) if name == "init" else _config(ctx, args)


# --- init ------------------------------------------------------------------------------------
def _init(ctx, args: argparse.Namespace) -> int:
    from reports.configuration import commented_config
    from store.paths import config_path, user_playbooks_dir
    from tui.cli import UsageError

    path = config_path()
    if path.exists() and not args.force:
        raise UsageError(f"{path} already exists; accepted: --force to replace it (or edit it, then "
                         "`incident-response config check`)")
    try:
        _write_private(path, commented_config())
        copied = _copy_playbooks(user_playbooks_dir(), args.force) if args.playbooks else []
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or path} ({exc.strerror}); accepted: a writable config "
                         "folder (set XDG_CONFIG_HOME or IR_CONFIG)") from None
    print(f"Wrote {path} (owner-only): every table is there, commented out.")
    if args.playbooks:
        print(f"Copied {len(copied)} built-in playbook file(s) to {user_playbooks_dir()}: each one there replaces "
              "the built-in file of its name; delete one to follow the built-in again.")
    print("Next: uncomment what you use, then `incident-response config check` (add --online to reach each "
          "server).")
    return 0


def _write_private(path: Path, text: str) -> None:
    """Owner-only (0600 in a 0700 folder), written beside it and renamed, so it appears whole."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _copy_playbooks(target: Path, force: bool) -> list[Path]:
    from playbooks.loader import BUILTIN_DIR

    copied = []
    for source in sorted(BUILTIN_DIR.rglob("*.toml")):
        destination = target / source.relative_to(BUILTIN_DIR)
        if destination.exists() and not force:
            continue  # a playbook the team already edited is theirs
        destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_private(destination, source.read_text(encoding="utf-8"))
        copied.append(destination)
    return copied


# --- config check / show ---------------------------------------------------------------------
def _config(ctx, args: argparse.Namespace) -> int:
    from tui.cli import UsageError
    from tui.configuration import load_checked_configuration

    if args.action != "check" and args.online:
        raise UsageError("--online goes with `config check`; accepted: incident-response config check --online")
    if not 0 < args.timeout <= 120:
        raise UsageError(f"--timeout {args.timeout:g} is out of range; accepted: 0 to 120 seconds")
    configuration = load_checked_configuration()  # a refused file: one sentence, exit 2
    if args.action == "show":
        from automation.readiness import secret_state
        from reports.configuration import effective_toml

        from tui.cli_output import printable_toml

        # Values come from the file and the environment: a control or bidi character in a
        # string is printed as its TOML escape (the same value), never to the terminal raw.
        print(printable_toml(effective_toml(configuration, secret_state(configuration))), end="")
        return 0
    return _check(ctx, configuration, args)


def _check(ctx, configuration, args: argparse.Namespace) -> int:
    from automation.config import log_sources_from_config, sources_from_config
    from automation.notifiers import notifiers_from_config
    from automation.readiness import reachability, secret_findings, stakeholder_reach
    from store.database import masked_url
    from store.paths import default_database_url

    # Build everything a program would build from it: a notifier's or source's own rules too.
    notifiers = notifiers_from_config(configuration)
    sources = sources_from_config(configuration)
    log_sources = log_sources_from_config(configuration)
    explicit = getattr(args, "database_url", None)
    url = masked_url(explicit or default_database_url(configuration.store.url))

    from playbooks.errors import one_line

    # Paths, URLs and group names come from files and the environment: shown as data.
    where = configuration.path or "no config file (the embedded default); `incident-response init` writes one"
    print(one_line(f"config: {where} - valid"))
    print(one_line(f"store: {url}" + (f" (shared with group {configuration.store.group})"
                                      if configuration.store.group else "")))
    print(one_line("sources: " + (", ".join(f"{s.name} every {s.interval:g}s" for s in sources) or "none")))
    print(one_line("logs: " + (", ".join(log_sources) or "none")))
    print(one_line("integrations: " + (", ".join(notifiers) or "none: nobody outside this tool is told")))
    problems = 0
    secrets = secret_findings(configuration)
    if secrets:
        print("secrets:")
        problems += _print_findings(secrets)
    print("stakeholder groups (comms matrix):")
    for finding in stakeholder_reach(configuration, ctx.policy):  # names from files: shown as data
        print(f"  {'ok ' if finding.ok else '-- '} {one_line(finding.subject)}: {one_line(finding.detail)}")
    for line in _on_call_lines(configuration):  # names from the file: shown as data
        print(one_line(line))
    if configuration.tui.keymap:  # a remap that would take another binding's key is refused in the TUI
        from tui.keymap import keymap_findings

        print("keymap:")
        problems += _print_findings(keymap_findings(configuration.tui.keymap))
    if args.online:
        print("reachable from this host:")
        problems += _print_findings(reachability(configuration, timeout=args.timeout))
    if problems:
        print(f"{problems} problem(s) found; the configuration is valid but not ready")
        return 1
    print("ready" + ("" if args.online else " (add --online to reach each server)"))
    return 0


def _print_findings(findings) -> int:
    from playbooks.errors import one_line

    for finding in findings:
        print(f"  {'ok ' if finding.ok else 'BAD'} {one_line(finding.subject)}: {one_line(finding.detail)}")
    return sum(not finding.ok for finding in findings)


def _on_call_lines(configuration) -> list[str]:
    """What the on-call engine will do with this file: schedules, escalation, heartbeats."""
    schedules = [f"{name} ({', '.join(s.members)}; every {s.rotation}, {s.timezone}"
                 + (f", {len(s.layers)} layer(s) over it" if s.layers else "") + ")"
                 for name, s in configuration.schedules.items()]
    policies = [f"{name} ({len(p.steps)} step(s)" + (f", {', '.join(p.severities)}" if p.severities else "")
                + (f", repeats {p.repeat}x" if p.repeat else "") + ")"
                for name, p in configuration.escalation.items()]
    heartbeats = [f"{name} every {h.interval} (+{h.grace} grace)" for name, h in configuration.heartbeats.items()]
    return [
        "schedules: " + ("; ".join(schedules) or "none: `oncall` names nobody; add a [schedules.NAME] table"),
        "escalation policies: " + ("; ".join(policies)
                                   or "none: an unacknowledged incident escalates once to its severity's targets"),
        "heartbeats: " + ("; ".join(heartbeats) or "none"),
    ]
