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
from typing import TYPE_CHECKING, Any, NoReturn, Sequence

# one_line: a message or stored field on one line, every unprintable character (newline,
# escape, C1 control, bidi override, line separator) shown escaped, never obeyed by the
# terminal. One definition for every layer (a tiny module: --help stays instant).
from playbooks.errors import one_line

if TYPE_CHECKING:
    from store.read_models.incident import IncidentDetail

PROG = "incident-response"
# Every command lives in a module under tui/commands/ (one module per job, related commands
# together). Each module has HELP (name -> one line), add_arguments(name, parser) and
# run(name, ctx, args) -> exit status; it must import nothing heavy at module level, so
# `--help` stays instant. The order here is the order `--help` lists them in.
COMMAND_MODULES: dict[str, str] = {
    "list": "tui.commands.listing",
    "show": "tui.commands.listing",
    **dict.fromkeys(("ack", "status", "severity", "assign", "release", "tick", "untick", "note", "update",
                     "remediate", "resolve", "close"), "tui.commands.lifecycle"),
    "export": "tui.commands.transfer",
    "import": "tui.commands.transfer",
    "audit": "tui.commands.audit",
    "watch": "tui.commands.loops",
    "drill": "tui.commands.loops",
    "runbook": "tui.commands.runbook",
    "serve": "tui.commands.loops",
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
    "oncall": "tui.commands.oncall",
    "silence": "tui.commands.silence",
}
COMMANDS = tuple(COMMAND_MODULES)  # every command's name, in that order


# Commands that only read: pointed at a database file that does not exist, they refuse
# instead of creating an empty one (a typo in --db must not look like "no incidents").
READ_ONLY = ("list", "show", "export", "audit", "report", "compliance", "actions", "backup", "search")
# Commands that may start a new database (they declare, import, restore, or open incidents
# from alerts). Every other one needs an incident or a record an empty, just-created file
# cannot hold, so a missing --db file is refused up front: a refused command must not
# leave an empty database behind.
MAY_CREATE = (None, "import", "drill", "restore", "watch", "serve")
# Commands that read config.toml themselves (or must work while it is broken): `init` writes
# one, `config` reports on it, `completion` must never print an error into a shell prompt.
CONFIGURATION_FREE = ("init", "config", "completion")


def _refuse_writing_when_read_only(args: argparse.Namespace, command: str | None) -> None:
    """--read-only: a command that writes (or a declaration: command "declare") is refused
    before anything is opened; the command center itself opens, watching only."""
    if getattr(args, "read_only", False) and command is not None and not _only_reads(args, command):
        raise UsageError(f"read-only: `{command}` writes and --read-only only watches; accepted: "
                         f"{', '.join(READ_ONLY)}, or the command without --read-only")


def _only_reads(args: argparse.Namespace, command: str) -> bool:
    """A command that never writes, or whose module's `reads_only(args)` says this use of it
    only reads (`oncall` lists, `oncall override` writes)."""
    if command in READ_ONLY + ("config", "completion"):
        return True
    module = COMMAND_MODULES.get(command)
    if module is None:
        return False
    reads_only = getattr(importlib.import_module(module), "reads_only", None)
    return bool(reads_only and reads_only(args))


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


def _command_parser(only: str | None = None, *, every: bool = True) -> OneLineParser:
    """The command line's parser. `every=False` adds only the subcommand `only` names (none
    for the command center): a run imports one command module instead of all of them, which
    is most of the parser's cost at start-up. Help and completion build every one."""
    common = _common()
    parser = OneLineParser(prog=PROG, parents=[common], description=(
        "Run incidents from the terminal. Declare with `incident-response SEVERITY TYPE ENVIRONMENT`; "
        "with no arguments, open the command center."))
    parser.add_argument("--version", action=VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, parents=[common], description=help_text)

    for name, module_name in COMMAND_MODULES.items():
        if not every and name != only:
            continue
        module = importlib.import_module(module_name)
        module.add_arguments(name, add(name, module.HELP[name]))
    return parser


def _first_word(argv: Sequence[str]) -> str | None:
    """The first positional word (a command's name or a declaration's severity), None if none."""
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word in ("--as", "--db", "--title", "--service"):
            skip = True
            continue
        if not word.startswith("-"):
            return word
    return None


def _asks_for_help(argv: Sequence[str]) -> bool:
    return any(word in ("-h", "--help", "--version") for word in argv)


def _is_command_line(argv: Sequence[str]) -> bool:
    """True when the first word is a subcommand (or help); else it is a declaration."""
    word = _first_word(argv)
    if word is None:
        return True  # no positional words: open the command center
    if _asks_for_help(argv[:list(argv).index(word)]):
        return True
    return word in COMMAND_MODULES


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

            configuration = self.configuration
            explicit = getattr(self.args, "database_url", None)
            url = self.database_url
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
    def database_url(self) -> str:
        """--db, else IR_DATABASE_URL, else config.toml's `[store] url`, else the file in the XDG data dir."""
        from store.paths import default_database_url

        return getattr(self.args, "database_url", None) or default_database_url(self.configuration.store.url)

    @property
    def loaded_configuration(self):
        """config.toml if this run has read it already, else None."""
        return self._configuration

    @property
    def opened_store(self):
        """The store if a command already opened it, else None."""
        return self._store

    def detail(self, incident_id: str) -> "IncidentDetail":
        from store.queries import read_incident

        with self.store.db.read() as session:
            return read_incident(session, self.store.policy, incident_id, self.store.now())


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


def _run_tui(ctx: Context, open_incident: str | None = None) -> int:
    from tui.launch import run_command_center

    return run_command_center(ctx, open_incident)


def run_command(argv: Sequence[str]) -> int:
    word = _first_word(argv)
    # A known command (or none: the command center) parses with its own subparser only; help,
    # and anything argparse must refuse with the list of commands, gets every one.
    args = _command_parser(word, every=_asks_for_help(argv) or (word is not None and word not in COMMAND_MODULES)
                           ).parse_args(argv)
    _refuse_writing_when_read_only(args, args.command)
    ctx = Context(args)
    if args.command is None and _interactive():
        # The command center checks config.toml whole after its first frame, and closes
        # saying what is wrong if it is (tui/first_look.py).
        return _run_tui(ctx)
    if args.command not in CONFIGURATION_FREE:
        ctx.configuration  # every command refuses a broken config.toml before it does anything
    if args.command is None:
        return _open_command_center(ctx)
    _expand_short_id(ctx, args)
    status = importlib.import_module(COMMAND_MODULES[args.command]).run(args.command, ctx, args) or 0
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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # We use no pydantic plugins; looking them up reads every installed package's entry
    # points at the first model built, ~15 ms of every start (pydantic documents the switch).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
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
