"""Response actions as data: fill a runbook's argv template with checked values.

Pure: the values are validated by type and substituted into separate argv elements;
nothing is ever passed to a shell, so alert text cannot become a command.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlparse

from playbooks.errors import PolicyValueError

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")


@dataclass(frozen=True)
class PreparedCommand:
    runbook: str
    argv: tuple[str, ...]
    params: dict[str, str]
    timeout_s: float

    def shown(self) -> str:
        """The exact command, quoted as a shell would need it (for people to read)."""
        import shlex

        return shlex.join(self.argv)


def _check(name: str, spec, raw: str) -> str:
    value = str(raw).strip()
    kind = spec.type
    if kind == "name" and NAME.fullmatch(value):
        return value
    if kind == "int":
        if value.isascii() and value.lstrip("-").isdigit() and len(value) < 10:
            number = int(value)
            if (spec.min is None or number >= spec.min) and (spec.max is None or number <= spec.max):
                return str(number)
    if kind == "ip":
        try:
            return str(ipaddress.ip_network(value, strict=False)) if "/" in value else str(ipaddress.ip_address(value))
        except ValueError:
            pass
    if kind == "url":
        parsed = urlparse(value)
        if parsed.scheme in ("http", "https") and parsed.netloc and not any(c.isspace() for c in value):
            return value
    if kind == "choice" and value in (spec.choices or []):
        return value
    accepted = {
        "name": "letters, digits, '.', '_' or '-' (no spaces)",
        "int": f"a whole number from {spec.min} to {spec.max}",
        "ip": "an IP address or network like 203.0.113.7 or 203.0.113.0/24",
        "url": "an http:// or https:// URL",
        "choice": ", ".join(spec.choices or []),
    }[kind]
    raise PolicyValueError(f"{name}={value!r} is not valid; accepted: {accepted}")


def prepare(runbook, values: dict[str, str]) -> PreparedCommand:
    """The runbook's argv with every placeholder filled; one-sentence error otherwise."""
    from playbooks.durations import parse_duration

    missing = [p for p in runbook.params if p not in values]
    if missing:
        raise PolicyValueError(f"{runbook.name} needs {', '.join(missing)}; accepted: "
                               + " ".join(f"{p}=VALUE" for p in runbook.params))
    extra = [k for k in values if k not in runbook.params]
    if extra:
        raise PolicyValueError(f"{runbook.name} has no parameter {extra[0]!r}; accepted: {', '.join(runbook.params)}")
    checked = {name: _check(name, spec, values[name]) for name, spec in runbook.params.items()}
    argv = tuple(PLACEHOLDER.sub(lambda m: checked[m.group(1)], part) for part in runbook.command)
    return PreparedCommand(runbook.name, argv, checked, parse_duration(runbook.timeout).total_seconds())


def find(policy, name: str):
    for runbook in policy.runbooks.runbooks:
        if runbook.name == name:
            return runbook
    names = ", ".join(r.name for r in policy.runbooks.runbooks) or "none (add playbooks/runbooks.toml)"
    raise PolicyValueError(f"unknown runbook {name!r}; accepted: {names}")
