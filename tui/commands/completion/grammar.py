"""What the command line accepts, read from its argparse parsers: every command, subcommand
and option, and the values each may take (the words a completion offers), flattened into the
key -> value table each shell's script looks up."""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field

# A word a script may offer: nothing a shell would expand, split or treat as a pattern.
SAFE_WORD = re.compile(r"[A-Za-z0-9_.,:+@%/=-]+")
ID_DESTS = ("id", "incident", "incident_id")
FILE_DESTS = ("file", "output", "path")
FILE_METAVARS = ("FILE", "DIR", "PATH", "FILE|DIR/")
FORMAT_DESTS = ("format", "export", "backup_format")
DECLARE = "@declare"


@dataclass
class Option:
    flags: tuple[str, ...]
    takes_value: bool
    values: str  # a value spec: "w:WORD WORD", "ids", "files" or "" (nothing to offer)
    help: str


@dataclass
class Grammar:
    """What one parser accepts: a command, a subcommand, the top level or the declare form."""
    path: str  # "/", "/list/", "/config/check/", "/@declare/"
    options: list[Option] = field(default_factory=list)
    slots: list[str] = field(default_factory=list)  # each positional's value spec; "sub" names a subcommand
    variadic: bool = False  # the last slot takes any number of words
    subcommands: dict[str, str] = field(default_factory=dict)  # name -> help
    fallback: str | None = None  # where a first word that is no subcommand goes (the declare form)


def domain_values(policy) -> dict[str, tuple[str, ...]]:
    """Values the policy defines, by the argument name that takes them."""
    from playbooks.policy import ENVIRONMENTS, ROLES
    from playbooks.statuses import STATUSES

    environments = tuple(ENVIRONMENTS)
    return {
        "severity": tuple(level.name for level in policy.levels),
        "type": tuple(policy.workflows),
        "environment": environments,
        "env": environments,
        "role": tuple(ROLES),
        "status": tuple(STATUSES),
    }


def grammars(parser: argparse.ArgumentParser, declare: argparse.ArgumentParser,
             domain: dict[str, tuple[str, ...]]) -> list[Grammar]:
    """Every parser reachable from the top one (subcommands of subcommands too), and the
    declare form, which a first word that is no command starts."""
    found: list[Grammar] = []
    _walk(parser, "/", None, domain, found)
    top = found[0]
    if any(slot == "sub" for slot in top.slots):
        top.fallback = f"/{DECLARE}/"
        _walk(declare, top.fallback, None, domain, found)
    return found


def _walk(parser: argparse.ArgumentParser, path: str, command: str | None, domain, found: list[Grammar]) -> None:
    grammar = Grammar(path)
    found.append(grammar)
    children = []
    for action in parser._actions:  # argparse has no public way to list them; completers all read this
        if action.help == argparse.SUPPRESS:
            continue
        if action.option_strings:
            takes_value = action.nargs != 0
            grammar.options.append(Option(tuple(action.option_strings), takes_value,
                                          _values(command, action, domain, option=True) if takes_value else "",
                                          _help(action)))
        elif isinstance(action, argparse._SubParsersAction):
            grammar.slots.append("sub")
            helps = {choice.dest: _help(choice) for choice in action._choices_actions}
            for name, child in action.choices.items():
                grammar.subcommands[name] = helps.get(name, "")
                children.append((name, child))
        else:
            spec = _values(command, action, domain, option=False)
            count = action.nargs if isinstance(action.nargs, int) else 1
            grammar.slots.extend([spec] * count)
            grammar.variadic = action.nargs in ("*", "+", argparse.REMAINDER)
    for name, child in children:
        _walk(child, f"{path}{name}/", name if command is None else command, domain, found)


def _values(command: str | None, action: argparse.Action, domain, *, option: bool) -> str:
    """The value spec of one argument, by what the parser says about it."""
    dest, metavar = action.dest, action.metavar if isinstance(action.metavar, str) else None
    words: tuple[str, ...] = ()
    if action.choices is not None:
        words = tuple(str(choice) for choice in action.choices)
    elif dest in ID_DESTS or metavar == "ID":
        return "ids"
    elif dest in FILE_DESTS or metavar in FILE_METAVARS:
        return "files"
    elif metavar and "|" in metavar:
        # `sqlite|json`, `add|done|...`; upper-case parts are placeholders (`N|dead`).
        words = tuple(part for part in metavar.split("|") if part and not part.isupper())
    elif option and command == "list" and dest == "status":
        words = ("open", "all", *domain.get("status", ()))
    elif dest in domain and (not option or dest != "status"):  # an option's --status means another thing
        words = domain[dest]
    elif command is not None:
        words = _module_choices(command, dest)
    words = tuple(word for word in words if SAFE_WORD.fullmatch(word))
    return f"w:{' '.join(words)}" if words else ""


def _module_choices(command: str, dest: str) -> tuple[str, ...]:
    """A command module's own constant for a value it checks by hand: STATE_CHOICES for
    --state, FORMATS for --format/--export."""
    import importlib

    from tui.cli import COMMAND_MODULES

    if command not in COMMAND_MODULES:
        return ()
    module = importlib.import_module(COMMAND_MODULES[command])
    value = getattr(module, f"{dest.upper()}_CHOICES", None)
    if value is None and dest in FORMAT_DESTS:
        value = getattr(module, "FORMATS", None)
    return tuple(value) if isinstance(value, (tuple, list)) else ()


def _help(action: argparse.Action) -> str:
    text = action.help or ""
    try:
        text = text % {**vars(action), "prog": "incident-response"}
    except (KeyError, TypeError, ValueError):
        pass
    return " ".join(text.split())


def spec_table(found: list[Grammar]) -> dict[str, str]:
    """The grammar as flat key -> value strings, the form every shell's script looks up:
    PATH|subs, PATH|fallback, PATH|opts, PATH|takes, PATH|opt|FLAG, PATH|slots, PATH|slot|N,
    PATH|variadic, PATH|help|WORD."""
    table: dict[str, str] = {}
    for grammar in found:
        p = grammar.path
        if grammar.subcommands:
            table[f"{p}|subs"] = " ".join(name for name in grammar.subcommands if SAFE_WORD.fullmatch(name))
        if grammar.fallback:
            table[f"{p}|fallback"] = grammar.fallback
        table[f"{p}|opts"] = " ".join(flag for option in grammar.options for flag in option.flags)
        table[f"{p}|takes"] = " ".join(flag for option in grammar.options if option.takes_value
                                       for flag in option.flags)
        table[f"{p}|slots"] = str(len(grammar.slots))
        for index, slot in enumerate(grammar.slots):
            table[f"{p}|slot|{index}"] = slot
        if grammar.variadic:
            table[f"{p}|variadic"] = "1"
        for option in grammar.options:
            for flag in option.flags:
                if option.values:
                    table[f"{p}|opt|{flag}"] = option.values
                if option.help:
                    table[f"{p}|help|{flag}"] = option.help
        for name, text in grammar.subcommands.items():
            if text:
                table[f"{p}|help|{name}"] = text
    return table
