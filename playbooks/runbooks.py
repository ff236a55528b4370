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


# The widest network a runbook may be given: blocking or opening more than a /16 (IPv4) or
# a /32 (IPv6) at once is a typo or an attack, never an incident response.
MIN_PREFIX = {4: 16, 6: 32}


def _accepted(spec) -> str:
    return {
        "name": "letters, digits, '.', '_' or '-' (no spaces), not starting with '-'",
        "int": f"a whole number from {spec.min} to {spec.max} written with digits only",
        "ip": (f"an IP address or a network no wider than /{MIN_PREFIX[4]} (IPv4) or /{MIN_PREFIX[6]} (IPv6),"
               " like 203.0.113.7 or 203.0.113.0/24"),
        "url": "an http:// or https:// URL with a host and no user name or password",
        "choice": ", ".join(spec.choices or []),
    }[spec.type]


def _ip(value: str) -> str | None:
    try:
        if "/" not in value:
            return str(ipaddress.ip_address(value))
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    # 0.0.0.0/0, ::/0 and any prefix wider than MIN_PREFIX would act on whole swathes of the internet.
    return str(network) if network.prefixlen >= MIN_PREFIX[network.version] else None


def _url(value: str) -> str | None:
    if not value.isascii() or any(not c.isprintable() or c.isspace() for c in value):
        return None
    try:
        parsed = urlparse(value)
        host = parsed.hostname
    except ValueError:
        return None
    # Credentials in a URL end up on the timeline, in the activity log and in `ps` output.
    if parsed.scheme not in ("http", "https") or not host or "@" in parsed.netloc:
        return None
    return value


def _check(name: str, spec, raw: str) -> str:
    value = str(raw).strip()
    kind = spec.type
    # A value that starts with '-' is read as an option by most programs, whatever its type.
    if value.startswith("-"):
        raise PolicyValueError(f"{name}={value!r} starts with '-' and would be read as an option; "
                               f"accepted: {_accepted(spec)}")
    if kind == "name" and NAME.fullmatch(value):
        return value
    if kind == "int":
        if value.isascii() and value.isdigit() and len(value) < 10:
            number = int(value)
            if (spec.min is None or number >= spec.min) and (spec.max is None or number <= spec.max):
                return str(number)
    if kind == "ip" and (checked := _ip(value)) is not None:
        return checked
    if kind == "url" and (checked := _url(value)) is not None:
        return checked
    if kind == "choice" and value in (spec.choices or []):
        return value
    raise PolicyValueError(f"{name}={value!r} is not valid; accepted: {_accepted(spec)}")


def values_from_assignments(items) -> dict[str, str]:
    """KEY=VALUE words as a mapping; a word without '=' or a key given twice is refused
    (which of two addresses would be blocked must never be a guess)."""
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        if not sep or not key:
            raise PolicyValueError(f"{item!r} is not KEY=VALUE; accepted: for example address=203.0.113.7")
        if key in values:
            raise PolicyValueError(f"parameter {key!r} is given twice; accepted: each parameter once")
        values[key] = value
    return values


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
