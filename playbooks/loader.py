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
from playbooks.schema import CommsMatrix, CompliancePolicy, DetectionRules, SeverityPolicy, Workflow

BUILTIN_DIR = Path(__file__).parent / "builtin"
# The files a policy is made of, by the name a user's file overrides them with.
POLICY_FILES: dict[str, type[BaseModel]] = {
    "severity.toml": SeverityPolicy,
    "comms.toml": CommsMatrix,
    "rules.toml": DetectionRules,
    "compliance.toml": CompliancePolicy,
}
WORKFLOWS = "workflows"

M = TypeVar("M", bound=BaseModel)


def _describe(error: dict) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if error["type"] == "extra_forbidden":
        message = "is not a known field"
    if error["type"] == "missing":
        message = "is required"
    if error["type"] == "literal_error":
        message = message.replace("Input should be", "accepted:")
    return f"field {where} {message}" if not message.startswith(("field", "unknown", "accepted")) else f"field {where}: {message}"


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
        raise PlaybookError(f"{path}: {_describe(first)}{more}") from None


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
    )
