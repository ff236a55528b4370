"""Load the built-in playbooks, let the user's files override or add to them by name.

A broken file raises PlaybookError with one sentence naming the file, the line or the
field, and what is accepted.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from playbooks.errors import PlaybookError
from playbooks.policy import Policy
from playbooks.schema import CommsMatrix, CompliancePolicy, DetectionRules, Runbooks, SeverityPolicy, Workflow

BUILTIN_DIR = Path(__file__).parent / "builtin"
# The files a policy is made of, by the name a user's file overrides them with.
POLICY_FILES: dict[str, type[BaseModel]] = {
    "severity.toml": SeverityPolicy,
    "comms.toml": CommsMatrix,
    "rules.toml": DetectionRules,
    "compliance.toml": CompliancePolicy,
    "runbooks.toml": Runbooks,
}
WORKFLOWS = "workflows"

M = TypeVar("M", bound=BaseModel)


# Pydantic's words for common mistakes, said the way a playbook author reads them.
_PLAIN = {
    "string_type": "is not text; accepted: a quoted string",
    "list_type": "is not a list; accepted: [ ... ]",
    "bool_type": "is not true or false; accepted: true or false",
    "dict_type": "is not a table; accepted: a TOML table",
    "too_short": "is empty; accepted: at least one item",
    "date_from_datetime_parsing": "is not a date; accepted: YYYY-MM-DD",
    "date_parsing": "is not a date; accepted: YYYY-MM-DD",
    "date_type": "is not a date; accepted: YYYY-MM-DD",
}


def _describe(error: dict, model: type[BaseModel]) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "is not a known field"
    elif kind == "missing":
        message = "is required"
    elif kind == "literal_error":
        message = message.replace("Input should be", "accepted:")
    elif kind in _PLAIN:
        message = _PLAIN[kind]
    text = f"field {where}: {message}" if message.startswith(("unknown", "accepted", "'", '"')) else f"field {where} {message}"
    if "accepted" not in text:
        text += f"; accepted: the fields of the built-in file of this kind in {BUILTIN_DIR}"
    return text


def load_file(path: Path, model: type[M]) -> M:
    """Read one TOML file and check it against `model`."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PlaybookError(f"{path}: cannot be read ({exc.strerror}); accepted: a readable TOML file") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PlaybookError(f"{path}: is not UTF-8 text; accepted: a UTF-8 TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's message carries "(at line N, column M)" except at the very end.
        last_line = raw.decode("utf-8").count("\n") + 1
        message = str(exc).replace("(at end of document)", f"(at line {last_line}, the end of the file)")
        raise PlaybookError(f"{path}: {message}; accepted: TOML syntax (https://toml.io)") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PlaybookError(f"{path}: {_describe(first, model)}{more}") from None


def _pick(name: str, user_dir: Path | None) -> Path:
    if user_dir is not None and (user_dir / name).is_file():
        return user_dir / name
    return BUILTIN_DIR / name


def load_policy(user_dir: Path | None = None) -> Policy:
    """The built-in policy with the files in `user_dir` (if any) laid over it by name."""
    parts = {name: load_file(_pick(name, user_dir), model) for name, model in POLICY_FILES.items()}
    workflow_files = {p.name: p for p in sorted((BUILTIN_DIR / WORKFLOWS).glob("*.toml"))}
    if user_dir is not None and (user_dir / WORKFLOWS).is_dir():
        workflow_files.update({p.name: p for p in sorted((user_dir / WORKFLOWS).glob("*.toml"))})
    workflows: dict[str, Workflow] = {}
    for path in workflow_files.values():
        workflow = load_file(path, Workflow)
        if workflow.type in workflows:
            raise PlaybookError(f"{path}: field type {workflow.type!r} is already defined by another workflow file; accepted: one file per type")
        workflows[workflow.type] = workflow
    return Policy(
        severity=parts["severity.toml"],
        workflows=workflows,
        comms=parts["comms.toml"],
        rules=parts["rules.toml"],
        compliance=parts["compliance.toml"],
        runbooks=parts["runbooks.toml"],
    )
