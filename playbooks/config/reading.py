"""Reading config.toml: the file parsed and checked against the model, and a refusal as one
sentence naming the key, the file and what is accepted."""
from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from playbooks.config.configuration import Configuration
from playbooks.config.table import E164, EMAIL, HTTP_URL, SLACK_MEMBER
from playbooks.errors import PlaybookError


KEY_PATH_SKIP = ("function-after",)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key_path(location: tuple) -> str:
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part + 1}]"] if parts else [f"[{part + 1}]"]
        elif part in ("bool", "str", "int", "float", "list[str]", "dict[str,str]") or "[" in str(part) \
                or str(part).startswith(KEY_PATH_SKIP):
            continue  # the arm of a union pydantic tried, not a key
        else:
            text = str(part)
            parts.append(text if _BARE_KEY.fullmatch(text) else '"' + text.replace('"', '\\"') + '"')
    return ".".join(parts)


def _model_at(path: list[str]) -> type[BaseModel] | None:
    import typing

    model: type[BaseModel] | None = Configuration
    named = False  # the step before was a table of named tables ([contacts.NAME]): this part is a NAME
    for part in path:
        part = part.split("[", 1)[0]
        if named:
            named = False
            continue
        if model is None or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        named = typing.get_origin(annotation) is dict
        model = _table_class(annotation)
    return model


def _table_class(annotation: Any) -> type[BaseModel] | None:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _table_class(arg)
        if found is not None:
            return found
    return None


_WANTED = {
    "bool_type": "true or false", "string_type": "a string", "int_type": "a whole number",
    "float_type": "a number", "dict_type": "a table", "list_type": "a list", "model_type": "a table",
    "finite_number": "a finite number", "missing": "a value (it is required)",
}


_PATTERNS = {HTTP_URL: "an http:// or https:// URL", E164: "an E.164 number like +14155550100",
             EMAIL: "one e-mail address like oncall@example.com", SLACK_MEMBER: "a Slack member id like U012AB3CD"}


def _accepted(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "greater_than":
        return "a positive number" if ctx["gt"] == 0 else f"a number above {ctx['gt']:g}"
    if kind == "greater_than_equal":
        return f"a number of at least {ctx['ge']:g}"
    if kind == "less_than_equal":
        return f"a number of at most {ctx['le']:g}"
    if kind == "less_than":
        return f"a number below {ctx['lt']:g}"
    if kind == "string_pattern_mismatch":
        return _PATTERNS.get(ctx.get("pattern"), f"text matching {ctx.get('pattern')}")
    if kind == "string_too_short":
        return "a non-empty string" if ctx.get("min_length") == 1 else f"at least {ctx['min_length']} characters"
    if kind == "too_short":
        return "at least one entry"
    if kind == "literal_error":
        return ctx.get("expected", "one of the listed values").replace("'", '"')
    if kind == "value_error":
        return str(ctx.get("error", error["msg"])).split("accepted: ", 1)[-1]
    return _WANTED.get(kind, error["msg"].lower())


def configuration_error(error: ValidationError, where: str) -> PlaybookError:
    """The first problem of a validation as one sentence naming the key and the file."""
    problems = error.errors(include_url=False)
    # A union reports one error per arm; the first arm's says enough.
    first = problems[0]
    key = _key_path(first["loc"])
    if first["type"] == "extra_forbidden":
        parent = key.rsplit(".", 1)[0] if "." in key else ""
        model = _model_at(parent.split(".")) if parent else Configuration
        accepted = ", ".join(model.model_fields if model else ())
        what = "table" if isinstance(first.get("input"), dict) else "key"
        return PlaybookError(f"{where}: {key} is not a known {what}; accepted: {accepted or 'no keys here'}")
    if first["type"] == "missing":
        return PlaybookError(f"{where}: {key} is missing; accepted: a value for it (the key is required)")
    value = first.get("input")
    if first["type"] == "value_error":
        reason = str((first.get("ctx") or {}).get("error", first["msg"]))
        head, _, accepted = reason.partition("; accepted: ")
        return PlaybookError(f"{where}: {key}: {head}; accepted: {accepted or 'see docs/configuration.md'}")
    return PlaybookError(f"{where}: {key} is {_shown(value)}; accepted: {_accepted(first)}")


def _shown(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return "a table" if value else "an empty table"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_configuration(data: dict[str, Any], path: Path | None = None) -> Configuration:
    """The checked model of an already parsed TOML document (a dict); PlaybookError otherwise."""
    where = str(path) if path is not None else "config"
    try:
        configuration = Configuration.model_validate(data)
    except ValidationError as exc:
        raise configuration_error(exc, where) from None
    configuration._path = path
    return configuration


def load_configuration(path: Path) -> Configuration:
    """The configuration in `path` (the embedded default when there is no such file)."""
    if not path.exists():
        return Configuration()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PlaybookError(f"{path}: {exc}; accepted: a TOML file (see docs/configuration.md)") from None
    except RecursionError:
        raise PlaybookError(f"{path}: values are nested too deeply; accepted: a TOML file (see "
                            "docs/configuration.md)") from None
    except UnicodeDecodeError:
        raise PlaybookError(f"{path} is not UTF-8 text; accepted: a TOML file in UTF-8") from None
    except OSError as exc:
        raise PlaybookError(f"{path} cannot be read ({exc.strerror}); accepted: a readable TOML file") from None
    return parse_configuration(data, path)
