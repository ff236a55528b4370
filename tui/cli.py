"""The `incident-response` (alias `ir`) command line.

  incident-response SEVERITY TYPE ENVIRONMENT [--title T] [--service S] [--no-tui]
  incident-response list|show|ack|status|severity|assign|release|tick|untick|note|
                    update|remediate|resolve|close|export|import|audit ...

Every error a user can cause is one line on stderr and exit status 2; nothing is
written. A database that cannot be reached exits 1, also in one line.
"""
from __future__ import annotations

import argparse
import getpass
import importlib
import os
import sys
from pathlib import Path
from typing import Any, NoReturn, Sequence

# one_line: a message or stored field on one line, every unprintable character (newline,
# escape, C1 control, bidi override, line separator) shown escaped, never obeyed by the
# terminal. One definition for every layer (a tiny module: --help stays instant).
from playbooks.errors import one_line

PROG = "incident-response"
COMMANDS = (
    "list", "show", "ack", "status", "severity", "assign", "release", "tick", "untick", "note", "update",
    "remediate", "resolve", "close", "export", "import", "audit", "watch", "drill", "serve", "runbook",
)
# Commands kept in modules of their own under tui/commands/ (one module per job). Each
# module has HELP (name -> one line), add_arguments(name, parser) and run(name, ctx, args);
# it must import nothing heavy at module level, so `--help` stays instant.
COMMAND_MODULES: dict[str, str] = {
    "outbox": "tui.commands.outbox",
    "report": "tui.commands.report",
    "exposure": "tui.commands.compliance",
    "comply": "tui.commands.compliance",
    "compliance": "tui.commands.compliance",
    "rca": "tui.commands.review",
    "review": "tui.commands.review",
    "action": "tui.commands.review",
    "actions": "tui.commands.review",
    "backup": "tui.commands.backup",
    "restore": "tui.commands.backup",
    "completion": "tui.commands.completion",
    "init": "tui.commands.config",
    "config": "tui.commands.config",
    "csat": "tui.commands.csat",
    "search": "tui.commands.search",
    "summary": "tui.commands.summary",
}


# Commands that only read: pointed at a database file that does not exist, they refuse
# instead of creating an empty one (a typo in --db must not look like "no incidents").
READ_ONLY = ("list", "show", "export", "audit", "report", "compliance", "actions", "backup", "search")
# Commands that may start a new database (they declare, import, restore, or open incidents
# from alerts). Every other one needs an incident or a record an empty, just-created file
# cannot hold, so a missing --db file is refused up front: a refused command must not
# leave an empty database behind.
MAY_CREATE = (None, "import", "drill", "restore", "watch", "serve")
MAX_LIST = 1_000_000
# Commands that read config.toml themselves (or must work while it is broken): `init` writes
# one, `config` reports on it, `completion` must never print an error into a shell prompt.
CONFIGURATION_FREE = ("init", "config", "completion")


def _refuse_writing_when_read_only(args: argparse.Namespace, command: str | None) -> None:
    """--read-only: a command that writes (or a declaration: command "declare") is refused
    before anything is opened; the command center itself opens, watching only."""
    if getattr(args, "read_only", False) and command is not None and command not in READ_ONLY + ("config", "completion"):
        raise UsageError(f"read-only: `{command}` writes and --read-only only watches; accepted: "
                         f"{', '.join(READ_ONLY)}, or the command without --read-only")


def _refuse_missing_sqlite_file(url: str) -> None:
    if url.startswith("sqlite:///"):
        try:
            path = Path(url.removeprefix("sqlite:///")).expanduser()
        except RuntimeError:  # ~name of an unknown user: open_database says so in one sentence
            return
        if not path.exists():
            raise UsageError(f"there is no database at {path}; accepted: the path of an existing database file")


def clock_from_environment():
    """IR_NOW=2024-01-15T14:30:00Z freezes the clock (demos, screenshots, tests); else real time."""
    from playbooks.clock import to_utc_naive, utc_now

    frozen = os.environ.get("IR_NOW")
    if not frozen:
        return utc_now
    from datetime import datetime

    try:
        moment = to_utc_naive(datetime.fromisoformat(frozen.replace("Z", "+00:00")))
    except ValueError:
        raise UsageError(f"IR_NOW={frozen!r} is not a timestamp; accepted: ISO 8601 like 2024-01-15T14:30:00Z") from None
    return lambda: moment


class UsageError(Exception):
    """A bad command line; printed as one line, exit 2."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        usage = " ".join(self.format_usage().split())
        if "accepted" not in message:
            message += f"; accepted: {usage.removeprefix('usage: ')}"
        raise UsageError(message)


class VersionAction(argparse.Action):
    """--version, looked up only when asked: reading package metadata costs every other
    command tens of milliseconds."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version(PROG)
        except PackageNotFoundError:  # a source tree run without installing: its pyproject.toml says
            try:
                import tomllib

                with open(Path(__file__).parent.parent / "pyproject.toml", "rb") as handle:
                    installed = tomllib.load(handle)["project"]["version"]
            except (OSError, KeyError, ValueError):
                installed = "unknown (not installed)"
        print(f"{PROG} {installed}")
        parser.exit()


def _common() -> argparse.ArgumentParser:
    # SUPPRESS defaults so a value given before the command is not reset after it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--as", dest="actor", default=argparse.SUPPRESS, metavar="NAME",
                        help="who is acting (default: $USER)")
    common.add_argument("--db", dest="database_url", default=argparse.SUPPRESS, metavar="URL",
                        help="database URL (default: $IR_DATABASE_URL or the SQLite file in the data dir)")
    common.add_argument("--read-only", dest="read_only", action="store_true", default=argparse.SUPPRESS,
                        help="watch without acting: commands that write are refused, the command center only shows")
    return common


def _declare_parser() -> OneLineParser:
    parser = OneLineParser(prog=PROG, parents=[_common()],
                           description="Declare an incident: incident-response SEVERITY TYPE ENVIRONMENT.")
    parser.add_argument("severity", help="critical, high, medium, low (or SEV-1..4, p1..4, 1..4)")
    parser.add_argument("type", help="outage, security, performance, data, integration")
    parser.add_argument("environment", help="production, staging, development")
    parser.add_argument("--title", help="one line: what is broken, for whom")
    parser.add_argument("--service", help="the affected service")
    parser.add_argument("--no-tui", action="store_true", help="print the new id only")
    parser.add_argument("--version", action=VersionAction)
    return parser


def _command_parser() -> OneLineParser:
    common = _common()
    parser = OneLineParser(prog=PROG, parents=[common], description=(
        "Run incidents from the terminal. Declare with `incident-response SEVERITY TYPE ENVIRONMENT`; "
        "with no arguments, open the command center."))
    parser.add_argument("--version", action=VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)

    def add(name: str, help_text: str, *, json_flag: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, parents=[common], description=help_text)
        if json_flag:
            p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    p = add("list", "list incidents", json_flag=True)
    p.add_argument("--status", default="open", help="open (default), all, or one status")
    p.add_argument("--severity")
    p.add_argument("--type")
    p.add_argument("--env", "--environment", dest="env")
    p.add_argument("--limit", type=int, default=None)
    p = add("show", "show one incident with its policy, checklist, roles and timeline", json_flag=True)
    p.add_argument("id")
    add("ack", "acknowledge an incident").add_argument("id")
    p = add("status", "move an incident: investigating, identified, monitoring, resolved, closed")
    p.add_argument("id")
    p.add_argument("status")
    p = add("severity", "re-rate an incident")
    p.add_argument("id")
    p.add_argument("severity")
    p = add("assign", "give a role to a person (the previous holder is released)")
    p.add_argument("id")
    p.add_argument("role")
    p.add_argument("person")
    p = add("release", "release a role")
    p.add_argument("id")
    p.add_argument("role")
    for name, verb in (("tick", "mark steps done"), ("untick", "mark steps not done")):
        p = add(name, f"{verb}: step numbers or the start of a step's text")
        p.add_argument("id")
        p.add_argument("steps", nargs="+")
    p = add("note", "add a note to the timeline")
    p.add_argument("id")
    p.add_argument("text", nargs="+")
    p = add("update", "post a status update (the next one falls due by the severity's cadence)")
    p.add_argument("id")
    p.add_argument("text", nargs="+")
    p.add_argument("--affected", help="who or what is affected, for the status page")
    p.add_argument("--headline", help="the public page's headline from now on (default: the playbook's)")
    p = add("remediate", "start a remediation action, or finish one with --done N")
    p.add_argument("id")
    p.add_argument("text", nargs="*")
    p.add_argument("--done", type=int, metavar="N", help="finish remediation action N")
    p.add_argument("--outcome", default="done")
    add("resolve", "mark an incident resolved").add_argument("id")
    add("close", "close a resolved incident").add_argument("id")
    p = add("export", "write an incident: json (re-importable), md (handover), svg (war room), html (both)")
    p.add_argument("id")
    p.add_argument("--format", choices=("json", "md", "svg", "html"), default="json")
    p.add_argument("--output", "-o", help="file or folder to write (default: standard output for json and md, "
                   "the current folder for svg and html)")
    p.add_argument("--force", action="store_true", help="replace the file if it exists")
    p = add("import", "import historical incidents from a JSON file")
    p.add_argument("file")
    p = add("audit", "verify the timeline's hash chain (keyed with IR_AUDIT_KEY), or print its head to keep",
            json_flag=True)
    p.add_argument("action", choices=("verify", "anchor"))
    p.add_argument("--anchor", metavar="FILE|HASH", help="verify: the chain must still hold this anchor")
    p.add_argument("--output", "-o", metavar="FILE", help="anchor: also write it to FILE (owner-only)")
    p.add_argument("--force", action="store_true", help="anchor: replace FILE if it exists")
    p = add("watch", "run metric sources and detection rules headless (Ctrl-C stops)")
    p.add_argument("--environment", default="production", help="environment of incidents rules open")
    p.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    p = add("drill", "practise: play a scenario through the real rules (opens a drill incident)")
    p.add_argument("scenario", nargs="?", help="db-pool-exhaustion or credential-stuffing; omit to list")
    p = add("runbook", "run a response action from the playbook's allowlist, after you confirm the exact command")
    p.add_argument("id", nargs="?")
    p.add_argument("name", nargs="?")
    p.add_argument("params", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--yes", action="store_true", help="confirm without asking (you have read the command)")
    p = add("serve", "receive Alertmanager, Grafana and generic alert webhooks")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8787)
    for name, module_name in COMMAND_MODULES.items():
        module = importlib.import_module(module_name)
        module.add_arguments(name, add(name, module.HELP[name]))
    return parser


def _is_command_line(argv: Sequence[str]) -> bool:
    """True when the first word is a subcommand (or help); else it is a declaration."""
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word in ("--as", "--db", "--title", "--service"):
            skip = True
            continue
        if word.startswith("-"):
            if word in ("-h", "--help", "--version"):
                return True
            continue
        return word in COMMANDS or word in COMMAND_MODULES
    return True  # no positional words: open the command center


class Context:
    """What every command needs: the store, built lazily so `--help` stays instant."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        from playbooks.validation import check_actor

        given = getattr(args, "actor", None)
        self.actor = check_actor(given if given is not None else (os.environ.get("USER") or getpass.getuser()))
        self._policy = None
        self._store = None
        self._configuration = None
        self.notifiers: dict = {}
        self.outbox_mark: int | None = None

    @property
    def configuration(self):
        """config.toml, read and checked once for this run (the embedded default without one)."""
        if self._configuration is None:
            from tui.configuration import load_checked_configuration

            self._configuration = load_checked_configuration()
        return self._configuration

    @property
    def policy(self):
        """The policy alone: values are checked against it before any database is touched."""
        if self._policy is None:
            from playbooks import load_policy
            from store.paths import user_playbooks_dir

            self._policy = load_policy(user_playbooks_dir())
        return self._policy

    @property
    def store(self):
        if self._store is None:
            from store.database import open_database
            from store.operations import IncidentStore
            from store.paths import default_database_url

            configuration = self.configuration
            explicit = getattr(self.args, "database_url", None)
            url = explicit or default_database_url(configuration.store.url)
            command = getattr(self.args, "command", None)
            if explicit and (command in READ_ONLY or command not in MAY_CREATE):
                _refuse_missing_sqlite_file(url)
            from automation.notifiers import notifiers_from_config
            from automation.routing import route_by_matrix

            self.notifiers = notifiers_from_config(configuration)
            # Configured integrations: every change writes its outbox rows in its transaction.
            router = route_by_matrix(self.policy, set(self.notifiers), configuration) if self.notifiers else None
            db = open_database(url, group=configuration.store.group)
            from store.audit import use_audit_key

            use_audit_key(db, self.audit_key)  # every event this run writes is signed when a key is set
            self._store = IncidentStore(db, self.policy, clock_from_environment(), router=router)
            if self.notifiers:
                from automation.shell_delivery import outbox_mark

                self.outbox_mark = outbox_mark(self._store)  # this command's messages come after it
        return self._store

    @property
    def audit_key(self) -> bytes | None:
        """The audit chain's key (IR_AUDIT_KEY or IR_AUDIT_KEY_FILE), read once; None without one."""
        if not hasattr(self, "_audit_key"):
            from store.audit_key import AuditKeyError, audit_key_from_environment

            try:
                self._audit_key = audit_key_from_environment()
            except AuditKeyError as exc:
                raise UsageError(str(exc)) from None
        return self._audit_key

    @property
    def opened_store(self):
        """The store if a command already opened it, else None."""
        return self._store

    def detail(self, incident_id: str) -> dict[str, Any]:
        from store.queries import incident_detail

        with self.store.db.read() as session:
            return incident_detail(session, self.store.policy, incident_id, self.store.now())


def _print_json(value: Any) -> None:
    from tui.cli_output import printable_json

    print(printable_json(value))


def run_declare(argv: Sequence[str]) -> int:
    args = _declare_parser().parse_args(argv)
    _refuse_writing_when_read_only(args, "declare")
    ctx = Context(args)
    ctx.configuration  # a broken config.toml is refused before anything is declared
    # Check the words first, so a typo never creates or migrates a database.
    ctx.policy.level(args.severity), ctx.policy.workflow(args.type), ctx.policy.environment(args.environment)
    from playbooks.validation import checked_text

    checked_text(args.title, "title", required=False), checked_text(args.service, "service", required=False)
    incident = ctx.store.declare(args.severity, args.type, args.environment, actor=ctx.actor,
                                 title=args.title, service=args.service)
    if args.no_tui:
        print(incident.id, flush=True)
        _tell_now(ctx)
        return 0
    if _interactive():
        return _run_tui(ctx, open_incident=incident.id)
    from tui.cli_output import incident_text

    print(incident_text(ctx.detail(incident.id), timeline_limit=5), flush=True)
    _tell_now(ctx)
    return 0


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


SSH_FPS = "15"


def prepare_terminal(environ: dict) -> bool:
    """Under SSH, cap the frame rate and switch animations off (a user's own TEXTUAL_*
    settings win). Textual reads these at import, so this runs before it is imported."""
    under_ssh = bool(environ.get("SSH_CONNECTION") or environ.get("SSH_TTY"))
    if under_ssh:
        environ.setdefault("TEXTUAL_FPS", SSH_FPS)
        environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    return under_ssh


def _run_tui(ctx: Context, open_incident: str | None = None) -> int:
    under_ssh = prepare_terminal(os.environ)
    from store.paths import config_path
    from tui.app import Settings, make_app
    from tui.settings import tui_settings

    configuration = ctx.configuration
    options = tui_settings(configuration)
    if getattr(ctx.args, "read_only", False):  # the flag wins over `[tui] read_only = false`
        options["read_only"] = True
    settings = Settings(actor=ctx.actor, under_ssh=under_ssh, configuration=configuration,
                        metric_sources=tuple(configuration.sources.configured()),
                        config_path=str(configuration.path or config_path()), **options)
    # An already open store (after declaring) is used as is; otherwise it opens in a
    # worker while the dashboard paints.
    store = ctx.opened_store or (lambda: ctx.store)
    make_app(store, settings, open_incident).run()
    return 0


def run_command(argv: Sequence[str]) -> int:
    args = _command_parser().parse_args(argv)
    _refuse_writing_when_read_only(args, args.command)
    ctx = Context(args)
    if args.command not in CONFIGURATION_FREE:
        ctx.configuration  # every command refuses a broken config.toml before it does anything
    if args.command is None:
        return _open_command_center(ctx)
    _expand_short_id(ctx, args)
    if args.command in COMMAND_MODULES:
        status = importlib.import_module(COMMAND_MODULES[args.command]).run(args.command, ctx, args) or 0
    else:
        status = globals()[f"_cmd_{args.command}"](ctx, args) or 0
    if args.command not in KEEPS_DELIVERING:
        _tell_now(ctx)
    return status


def _expand_short_id(ctx: Context, args: argparse.Namespace) -> None:
    """The short id the dashboard shows (0118-001) becomes the full id before the command
    runs, or is refused in one sentence; a full id passes untouched (the command loads it)."""
    from store.incident_ids import is_short_id, resolve_incident_id

    for name in ("id", "incident"):  # every command's incident argument, and outbox --incident
        given = getattr(args, name, None)
        if isinstance(given, str) and is_short_id(given):
            with ctx.store.db.read() as session:
                setattr(args, name, resolve_incident_id(session, given, ctx.store.now()))


# Commands that deliver the outbox themselves, all the time.
KEEPS_DELIVERING = ("watch", "serve")


def _tell_now(ctx: Context) -> None:
    """The messages this command queued: one bounded attempt right after its commit, and
    what went where on stderr (stdout stays the command's own output, e.g. --json)."""
    if ctx.opened_store is None or not ctx.notifiers or ctx.outbox_mark is None:
        return
    from automation.shell_delivery import deliver_now, told_lines
    from store.activity_log import activity_log_from_config

    activity = activity_log_from_config(ctx.configuration, clock=ctx.store.now)
    for line in told_lines(deliver_now(ctx.store, ctx.notifiers, ctx.outbox_mark, activity=activity)):
        print(f"told: {one_line(line)}", file=sys.stderr)


def _open_command_center(ctx: Context) -> int:
    if _interactive():
        return _run_tui(ctx)
    # Not a terminal (a pipe, a cron job, CI): print the open incidents instead.
    from tui.cli_output import incident_table
    from store.queries import list_incidents

    with ctx.store.db.read() as session:
        rows = list_incidents(session)
    print(incident_table(rows, ctx.store.now()))
    return 0


def _cmd_list(ctx: Context, args: argparse.Namespace) -> None:
    from store.queries import list_incidents
    from tui.cli_output import incident_table

    policy = ctx.policy
    status = args.status.lower()
    if status not in ("open", "all"):
        try:
            status = policy.status(status)
        except ValueError as exc:
            raise UsageError(f"{exc}, open, all") from None
    if args.limit is not None and not 1 <= args.limit <= MAX_LIST:
        raise UsageError(f"--limit {args.limit} is out of range; accepted: 1 to {MAX_LIST}")
    filters = {
        "severity": policy.level(args.severity).id if args.severity else None,
        "incident_type": policy.workflow(args.type).type if args.type else None,
        "environment": None if not args.env or args.env == "all" else policy.environment(args.env),
    }
    with ctx.store.db.read() as session:
        rows = list_incidents(session, status=status, limit=args.limit, **filters)
    if args.json:
        _print_json([row.as_json() for row in rows])
    else:
        print(incident_table(rows, ctx.store.now()))


def _cmd_show(ctx: Context, args: argparse.Namespace) -> None:
    detail = ctx.detail(args.id)
    if args.json:
        _print_json(detail)
    else:
        from tui.cli_output import incident_text

        print(incident_text(detail))


def _cmd_ack(ctx: Context, args: argparse.Namespace) -> None:
    incident = ctx.store.acknowledge(args.id, actor=ctx.actor)
    late = "" if incident.acknowledged_at <= incident.response_due_at else " (after the response deadline)"
    print(f"{incident.id} acknowledged by {ctx.actor}{late}")


def _cmd_status(ctx: Context, args: argparse.Namespace) -> None:
    incident = ctx.store.change_status(args.id, args.status, actor=ctx.actor)
    print(f"{incident.id} is now {incident.status}")


def _cmd_resolve(ctx: Context, args: argparse.Namespace) -> None:
    incident = ctx.store.resolve(args.id, actor=ctx.actor)
    print(f"{incident.id} is now {incident.status}")


def _cmd_close(ctx: Context, args: argparse.Namespace) -> None:
    incident = ctx.store.close(args.id, actor=ctx.actor)
    print(f"{incident.id} is now {incident.status}")


def _cmd_severity(ctx: Context, args: argparse.Namespace) -> None:
    incident = ctx.store.change_severity(args.id, args.severity, actor=ctx.actor)
    print(f"{incident.id} is now {incident.severity}; response due {incident.response_due_at:%Y-%m-%d %H:%M} UTC")


def _cmd_assign(ctx: Context, args: argparse.Namespace) -> None:
    assignment = ctx.store.assign_role(args.id, args.role, args.person, actor=ctx.actor)
    print(f"{one_line(assignment.person)} is {assignment.role} on {assignment.incident_id}")


def _cmd_release(ctx: Context, args: argparse.Namespace) -> None:
    released = ctx.store.release_role(args.id, args.role, actor=ctx.actor)
    print(f"{one_line(released.person)} released {released.role} on {released.incident_id}")


def _tick(ctx: Context, args: argparse.Namespace, done: bool) -> None:
    changed = ctx.store.tick(args.id, args.steps, actor=ctx.actor, done=done)
    if not changed:
        print("No change: " + ("already done" if done else "already open"))
    for step in changed:
        print(f"[{'x' if done else ' '}] {step.number}. {one_line(step.text)}")


def _cmd_tick(ctx: Context, args: argparse.Namespace) -> None:
    _tick(ctx, args, True)


def _cmd_untick(ctx: Context, args: argparse.Namespace) -> None:
    _tick(ctx, args, False)


def _cmd_note(ctx: Context, args: argparse.Namespace) -> None:
    event = ctx.store.add_note(args.id, " ".join(args.text), actor=ctx.actor)
    print(f"Noted on {event.incident_id} (event #{event.seq})")


def _cmd_update(ctx: Context, args: argparse.Namespace) -> None:
    from reports.status_page import status_page_text
    from playbooks.clock import iso_z

    update = ctx.store.post_status_update(args.id, " ".join(args.text), actor=ctx.actor, affected=args.affected,
                                          headline=args.headline)
    detail = ctx.detail(update.incident_id)
    detail["status_updates"] = detail["status_updates"][:-1]  # the template lists earlier ones under Updates
    headline = detail["public_headline"]
    from tui.cli_output import shown_lines

    print(shown_lines(status_page_text(detail, headline, update.message, update.affected, iso_z(update.posted_at),
                                       iso_z(update.next_update_due_at))), end="")


def _cmd_remediate(ctx: Context, args: argparse.Namespace) -> None:
    if args.done is not None:
        action = ctx.store.finish_remediation(args.id, args.done, actor=ctx.actor, outcome=args.outcome)
        print(f"Remediation #{action.id} finished: {one_line(action.outcome)}")
        return
    if not args.text:
        raise UsageError("remediate needs a description or --done N; accepted: remediate ID TEXT...")
    action = ctx.store.start_remediation(args.id, " ".join(args.text), actor=ctx.actor)
    print(f"Remediation #{action.id} started on {action.incident_id}: {one_line(action.description)}")


def _cmd_export(ctx: Context, args: argparse.Namespace) -> None:
    """json and md go to standard output (or -o FILE); svg and html to a file, by default
    INC-...-war-room.svg / INC-...-handover.html in the current directory."""
    detail = ctx.detail(args.id)
    if args.format == "json":
        from store.transfer import export_json

        text, default_name = export_json(detail) + "\n", None
    elif args.format == "md":
        from reports.handover import handover_markdown
        from playbooks.clock import iso_z

        text, default_name = handover_markdown(detail, iso_z(ctx.store.now())), None
    else:
        from tui.export import export_files

        text, default_name = export_files(ctx.store, detail["id"], args.format, ctx.actor)
    target = args.output or default_name
    if target is None:
        from tui.cli_output import printable_document

        print(printable_document(text), end="")  # to a terminal: stored text cannot drive it
        return
    try:
        from store.paths import user_path

        from tui.export import write_export

        path = user_path(target, "--output")
        if path.is_dir() or target.endswith(os.sep):
            path = path / (default_name or f"{detail['id']}.{args.format}")
        # Owner-only and atomic; never through a symbolic link, never over a file without --force.
        write_export(text, path, force=args.force)
    except OSError as exc:
        raise UsageError(f"cannot write {target} ({exc.strerror}); accepted: a writable file or folder path") from None
    print(f"Wrote {path}")


def _cmd_import(ctx: Context, args: argparse.Namespace) -> None:
    from types import SimpleNamespace

    from store.transfer import import_incidents, read_import

    # The whole file is checked against the policy before the database is opened (or created).
    records = read_import(SimpleNamespace(policy=ctx.policy, now=clock_from_environment()), Path(args.file))
    ids = import_incidents(ctx.store, records, actor=ctx.actor)
    print(f"Imported {len(ids)} incident(s)" + (f": {ids[0]} .. {ids[-1]}" if ids else ""))


def _cmd_audit(ctx: Context, args: argparse.Namespace) -> int:
    from store.audit import current_anchor, verify_chain

    if args.action == "anchor":
        if args.anchor:
            raise UsageError("--anchor goes with `audit verify`; accepted: audit anchor [--output FILE [--force]]")
        with ctx.store.db.read() as session:
            anchor = current_anchor(session)
        if args.output:
            from store.files import write_private_file
            from store.paths import user_path

            write_private_file(user_path(args.output, "--output"), anchor.line() + "\n", force=args.force)
        if args.json:
            _print_json(anchor.as_json())
        else:
            print(anchor.line())
        return 0
    if args.output or args.force:
        raise UsageError("--output and --force go with `audit anchor`; accepted: audit verify [--anchor FILE|HASH]")
    anchor = _anchor_argument(args.anchor) if args.anchor else None
    with ctx.store.db.read() as session:
        result = verify_chain(session, key=ctx.audit_key, anchor=anchor)
    if args.json:
        _print_json({"ok": result.ok, "events_checked": result.events_checked, "problem": result.problem,
                     "seq": result.seq, "keyed": result.keyed, "incidents_checked": result.incidents_checked,
                     "anchor_seq": result.anchor_seq})
    else:
        print(result.sentence())
    return 0 if result.ok else 1


def _anchor_argument(value: str):
    """--anchor: a file `audit anchor --output` wrote, the line it printed, or a bare hash."""
    from store.audit import ANCHOR_FORMS, parse_anchor

    path = Path(value).expanduser()
    text = value
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8", errors="replace")[:4096]
        except OSError as exc:
            raise UsageError(f"--anchor {value} cannot be read ({exc.strerror}); accepted: {ANCHOR_FORMS}") from None
    try:
        return parse_anchor(text)
    except ValueError:
        raise UsageError(f"--anchor {value!r} holds no anchor; accepted: {ANCHOR_FORMS}") from None


def _cmd_watch(ctx: Context, args: argparse.Namespace) -> None:
    import signal
    import threading

    from automation.lease import DetectionLease
    from automation.loop import build_watch, has_work

    environment = ctx.policy.environment(args.environment)
    lease = DetectionLease(ctx.store.db.url)
    if not lease.acquire():
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
    try:
        watch.run(stop)
    except KeyboardInterrupt:
        stop.set()


def _cmd_drill(ctx: Context, args: argparse.Namespace) -> None:
    from automation.drills import SCENARIOS, run_drill

    if not args.scenario:
        for scenario in SCENARIOS.values():
            print(f"{scenario.name}: {scenario.description}")
        return
    if args.scenario not in SCENARIOS:
        raise UsageError(f"unknown drill {args.scenario!r}; accepted: {', '.join(SCENARIOS)}")
    ids = run_drill(ctx.store, args.scenario, actor=ctx.actor, on_event=lambda line: print(one_line(line), flush=True))
    print(f"Drill incident(s): {', '.join(ids) if ids else 'none opened'}")


def _cmd_runbook(ctx: Context, args: argparse.Namespace) -> int:
    from playbooks.runbooks import find, prepare, values_from_assignments

    if not args.name:
        for runbook in ctx.policy.runbooks.runbooks:
            params = " ".join(f"{name}=<{spec.type}>" for name, spec in runbook.params.items())
            print(f"{runbook.name} {params}\n    {runbook.description}")
        return 0
    command = prepare(find(ctx.policy, args.name), values_from_assignments(args.params))
    incident_id = ctx.detail(args.id)["id"]
    print(f"Will run on this host: {command.shown()}")
    if not args.yes:
        if not _interactive():
            raise UsageError("not confirmed; accepted: --yes after reading the command, or run it in a terminal")
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


def _cmd_serve(ctx: Context, args: argparse.Namespace) -> None:
    from integrations.alert_receiver import serve

    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is out of range; accepted: 1 to 65535")
    from automation.alert_intake import AlertIntake
    from automation.config import log_sources_from_config
    from automation.rule_actions import for_alerts
    from store.activity_log import activity_log_from_config

    # An alert naming a rule of rules.toml gets that rule's actions, its labels filling them.
    on_opened = for_alerts(ctx.store, log_sources=log_sources_from_config(ctx.configuration))
    serve(AlertIntake(ctx.store, on_opened=on_opened), host=args.host, port=args.port,
          activity=activity_log_from_config(ctx.configuration, clock=ctx.store.now),
          on_start=lambda server: print(f"Listening on {one_line(server.url)} (/alerts/alertmanager, "
                                        "/alerts/grafana, /alerts/generic); Ctrl-C or SIGTERM stops", flush=True),
          on_stopping=lambda server: print("Stopping: no new connections; answering the requests in flight",
                                           flush=True))




def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from playbooks.errors import PlaybookError, PolicyValueError
    from store.errors import DatabaseUnavailable

    try:
        return run_command(argv) if _is_command_line(argv) else run_declare(argv)
    except (UsageError, PolicyValueError, PlaybookError) as exc:
        print(f"{PROG}: {one_line(exc)}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as exc:
        print(f"{PROG}: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: one sentence, never a traceback
        if os.environ.get("IR_DEBUG"):
            raise
        print(f"{PROG}: internal error ({type(exc).__name__}: {one_line(exc)}); set IR_DEBUG=1 for details",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
