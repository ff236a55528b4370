"""Documents generated from the configuration model (playbooks/config/), so they cannot say
something the code does not do: the reference (docs/configuration.md), the commented
config.toml that `incident-response init` writes, and the effective configuration that
`incident-response config show` prints."""
from __future__ import annotations

import json
import re
import typing
from typing import Any, Iterator

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from playbooks.config import Configuration, Table

# Examples for keys that have no default (a table that names them needs them).
_BARE = re.compile(r"[A-Za-z0-9_-]+")


# --- walking the model -----------------------------------------------------------------------
def _table_of(annotation: Any) -> tuple[str, type[Table]] | None:
    """("table" | "list" | "map", class) when a field holds a table, a list of them or a map of them."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Table):
        return "table", annotation
    if origin is list and args and isinstance(args[0], type) and issubclass(args[0], Table):
        return "list", args[0]
    if origin is dict and len(args) == 2 and isinstance(args[1], type) and issubclass(args[1], Table):
        return "map", args[1]
    for arg in args:  # X | None
        if arg is not type(None):
            found = _table_of(arg)
            if found:
                return found
    return None


def tables(model: type[Table] = Configuration, prefix: str = "") -> Iterator[tuple[str, str, type[Table]]]:
    """(dotted name, TOML header, class) of every table under `model`, depth first."""
    for name, info in model.model_fields.items():
        found = _table_of(info.annotation)
        if found is None:
            continue
        kind, cls = found
        dotted = f"{prefix}{name}"
        header = {"table": f"[{dotted}]", "list": f"[[{dotted}]]", "map": f"[{dotted}.NAME]"}[kind]
        yield dotted, header, cls
        yield from tables(cls, dotted + ".")


def example_header(dotted: str, header: str) -> str:
    """The header as the example writes it: a map's NAME is the first name its field's
    examples give (e.g. [environments.staging])."""
    if not header.endswith(".NAME]"):
        return header
    parent, _, name = dotted.rpartition(".")
    model = Configuration
    for part in parent.split(".") if parent else []:
        model = _table_of(model.model_fields[part].annotation)[1]
    examples = model.model_fields[name].examples
    return header.replace("NAME", toml_key(next(iter(examples[0]))) if examples else "name")


def keys(model: type[Table]) -> Iterator[tuple[str, FieldInfo]]:
    """The plain keys of a table (not its sub-tables)."""
    for name, info in model.model_fields.items():
        if _table_of(info.annotation) is None:
            yield name, info


def _type_name(annotation: Any) -> str:
    if annotation is type(None):
        return ""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " or ".join(json.dumps(a) for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}s"
    if origin is dict:
        return f"table of {_type_name(args[1])}s"
    if args:  # a union
        return " or ".join(filter(None, (_type_name(a) for a in args)))
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(annotation, str(annotation))


def _default(info: FieldInfo) -> Any:
    if info.default is not PydanticUndefined:
        return info.default
    if info.default_factory is not None:
        return info.default_factory()
    return PydanticUndefined


# --- TOML values -----------------------------------------------------------------------------
def toml_key(name: str) -> str:
    return name if _BARE.fullmatch(name) else json.dumps(name)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if not isinstance(value, float) or not value.is_integer() else repr(int(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }" \
            if value else "{}"
    raise TypeError(f"no TOML form for {value!r}")


# --- the reference ---------------------------------------------------------------------------
def reference_markdown() -> str:
    """docs/configuration.md."""
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated from playbooks/config/ by `make docs`; a test fails when it drifts. -->",
        "",
        "The file is `config.toml` in the config folder (`$XDG_CONFIG_HOME/incident-response/`, usually",
        "`~/.config/incident-response/`), or the file `IR_CONFIG` names. `incident-response init` writes",
        "one with every table below commented out; `incident-response config check` checks it and",
        "`config show` prints what is in effect. Every table is optional: with no file the command",
        "center runs on a local SQLite file and this host's metrics.",
        "",
        "Every program (the command center, each CLI command, `watch`, `serve`) reads the file once",
        "when it starts and refuses, in one sentence naming the key and the file, a table or key",
        "it does not know, a value of the wrong type (a quoted number is not a number), a number",
        "that is not finite (`nan`, `inf`) or out of range, and a secret file others can read.",
        "The command center paints its first frame from a plain read of the file (`[tui]`, `[store]",
        "url`, which sources and integrations are on: `tui/first_look.py`) and checks it whole in",
        "the moment after, before it opens the database; a file wrong there closes it with the same",
        "sentence and exit status 2. A file that is not TOML is refused before the first frame.",
        "",
        "**Secrets are never in this file.** A key ending in `_env` names the environment variable",
        "that holds the secret; when that variable is unset, `NAME_FILE` may name a file holding it,",
        "readable by its owner alone (mode 0600).",
        "",
    ]
    lines += _table_section("", "", Configuration)
    for dotted, header, cls in tables():
        lines += _table_section(dotted, header, cls)
    return "\n".join(lines).rstrip() + "\n"


def _table_section(dotted: str, header: str, cls: type[Table]) -> list[str]:
    rows = list(keys(cls))
    if not header:
        return []
    doc = " ".join((cls.__doc__ or "").split())
    lines = [f"## `{header}`", "", doc, ""]
    if rows:
        lines += ["| key | type | default | what it does |", "| --- | --- | --- | --- |"]
        for name, info in rows:
            default = _default(info)
            shown = "required" if default is PydanticUndefined else (
                "not set" if default is None else f"`{toml_value(default)}`")
            description = (info.description or "") + (
                f"; e.g. `{toml_value(info.examples[0])}`" if info.examples else "")
            description = description.replace("|", "\\|")
            lines.append(f"| `{name}` | {_type_name(info.annotation)} | {shown} | {description} |")
        lines.append("")
    return lines


# --- the example file ------------------------------------------------------------------------
def example_toml() -> str:
    """Every table with every key, set to its example (`examples=` in the model) or default:
    valid TOML that the model accepts (a test holds it so, so a new table's required key needs
    an example). `init` writes it commented out."""
    lines = [
        "# incident-response configuration. Every table is optional and commented out: remove the",
        "# '# ' in front of a table's lines to use it. Reference: docs/configuration.md in the",
        "# project, or `incident-response config show` for what is in effect.",
        "# Secrets never go in this file: a key ending in _env names the environment variable that",
        "# holds one (or NAME_FILE, a file readable by its owner alone, when the variable is unset).",
    ]
    for dotted, header, cls in tables():
        rows = list(keys(cls))
        if not rows:
            continue
        lines += ["", "# " + " ".join((cls.__doc__ or "").split()), example_header(dotted, header)]
        for name, info in rows:
            default = _default(info)
            # A key's example (in the model) shows its form; else its default.
            value = info.examples[0] if info.examples else default
            if value is PydanticUndefined or value is None:
                lines.append(f"# {toml_key(name)} =    # {info.description} (not set)")
                continue
            required = "required; " if default is PydanticUndefined else ""
            lines.append(f"{toml_key(name)} = {toml_value(value)}    # {required}{info.description}")
    return "\n".join(lines) + "\n"


def commented_config() -> str:
    """The file `init` writes: the example with every setting commented out, so it changes
    nothing until a person uncomments a table."""
    out = []
    for line in example_toml().splitlines():
        out.append(line if not line or line.startswith("#") else "# " + line)
    return "\n".join(out) + "\n"


# --- the effective configuration -------------------------------------------------------------
def effective_toml(configuration: Configuration, secret_state: dict[str, str]) -> str:
    """What is in effect, as TOML: every table that is set, with defaults filled in. Secret
    variables are shown by name with where the secret comes from (`secret_state`: variable ->
    "set (environment)" ...), never the value; credentials in URLs are masked."""
    lines = [f"# in effect: {configuration.path or 'no config file, the embedded default'}"]
    _effective_table(configuration, "", lines, secret_state)
    return "\n".join(lines).rstrip() + "\n"


def _effective_table(table: Table, header: str, lines: list[str], secret_state: dict[str, str]) -> None:
    plain: list[str] = []
    nested: list[tuple[str, Any]] = []
    for name in type(table).model_fields:
        value = getattr(table, name)
        if value is None:
            continue
        if isinstance(value, Table) or (isinstance(value, (list, dict)) and value
                                        and all(isinstance(v, Table) for v in _items(value))):
            nested.append((name, value))
        elif name.endswith("_env") and isinstance(value, str):
            plain.append(f"{toml_key(name)} = {toml_value(value)}    # {secret_state.get(value, 'not set')}")
        else:
            plain.append(f"{toml_key(name)} = {toml_value(masked(value))}")
    if header and (plain or header.startswith("[[")):
        lines += ["", header]
    lines += plain
    dotted = header.strip("[]")
    for name, value in nested:
        where = f"{dotted}.{toml_key(name)}" if dotted else toml_key(name)
        if isinstance(value, Table):
            _effective_table(value, f"[{where}]", lines, secret_state)
        elif isinstance(value, list):
            for item in value:
                _effective_table(item, f"[[{where}]]", lines, secret_state)
        else:
            for key, item in value.items():
                _effective_table(item, f"[{where}.{toml_key(key)}]", lines, secret_state)


def _items(value: list | dict) -> list:
    return list(value.values()) if isinstance(value, dict) else list(value)


def masked(value: Any) -> Any:
    """`value` with any password in a URL replaced by ***."""
    if isinstance(value, str) and "://" in value:
        from store.database import masked_url

        return masked_url(value)
    return value
