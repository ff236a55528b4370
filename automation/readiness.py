"""Is this configuration ready to run? What `incident-response config check` reports: where
each secret comes from (never its value), which stakeholder groups are reached by what, and,
when asked, whether each configured source and integration answers from this host."""
from __future__ import annotations

import smtplib
import ssl
import threading
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

import httpx

from automation.stakeholders import PERSON_ADDRESSED, Directory
from integrations.secrets import SecretFileError, secret_from_env, where_secret_is
from playbooks.config import Configuration, EmailIntegration, Table


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was looked at, whether it is fine, and why not."""

    subject: str
    ok: bool
    detail: str


def secret_findings(configuration: Configuration) -> list[Finding]:
    """Each secret the enabled tables need: set in the environment, in an owner-only file, or
    missing. The secret itself is read (to prove the file can be) and never returned."""
    findings = []
    required = set(_required_secret_keys(configuration))
    for key, variable in configuration.secret_variables():
        needed = key in required
        try:
            where = where_secret_is(variable)
            if where.startswith("file") and not secret_from_env(variable):
                findings.append(Finding(key, not needed, f"{variable}_FILE names an empty file"))
                continue
        except SecretFileError as exc:
            findings.append(Finding(key, False, str(exc)))
            continue
        if where:
            findings.append(Finding(key, True, f"{variable}: set ({where})"))
        else:
            findings.append(Finding(key, not needed, f"{variable}: not set" + ("" if needed else " (optional)")))
    return findings


def _required_secret_keys(configuration: Configuration) -> list[str]:
    keys: list[str] = []

    def walk(table: Table, where: str) -> None:
        for name in type(table).model_fields:
            value = getattr(table, name)
            if isinstance(value, Table):
                walk(value, f"{where}.{name}" if where else name)
        keys.extend(f"{where}.{name}" for name in table.required_secrets())

    walk(configuration, "")
    return keys


def secret_state(configuration: Configuration) -> dict[str, str]:
    """Variable name -> "set (environment)", "set (file PATH)", "not set" or the problem."""
    state = {}
    for _key, variable in configuration.secret_variables():
        try:
            state[variable] = f"set ({where})" if (where := where_secret_is(variable)) else "not set"
        except SecretFileError as exc:
            state[variable] = str(exc)
    return state


def stakeholder_reach(configuration: Configuration, policy) -> list[Finding]:
    """Each stakeholder group of the comms matrix with the integrations that would reach it
    here and the addresses its members are reached at; a person-addressed channel that
    reaches no member is not fine (its messages would be skipped)."""
    directory = Directory(configuration, policy)
    enabled = configuration.integrations.configured()
    findings = []
    for group in policy.comms.groups:
        reached = [name for name in group.integrations if name in enabled]
        severities = ", ".join(group.severities)
        if not reached:
            findings.append(Finding(group.name, False, f"{severities}: nobody is told (configure "
                                                       f"{' or '.join(group.integrations)})"))
            continue
        parts, ok = [], True
        for name in reached:
            if name in PERSON_ADDRESSED:
                addresses = directory.addresses(group.name, name)
                ok = ok and bool(addresses)
                parts.append(f"{name} to {', '.join(addresses)}" if addresses else f"{name} to no one (no member)")
            else:
                parts.append(name)
        members = directory.members(group.name)
        detail = f"{severities} via {'; '.join(parts)}" + (f"; members: {', '.join(members)}" if members else "")
        findings.append(Finding(group.name, ok, detail))
    return findings


# --- reachability (config check --online) ----------------------------------------------------
def reachability(configuration: Configuration, timeout: float = 5.0) -> list[Finding]:
    """Ask every configured source for one sample and knock on every integration's and log
    source's server. Sends no message: an HTTP answer of any status counts as reachable."""
    from automation.config import sources_from_config

    findings = []
    for source in sources_from_config(configuration):
        findings.append(_within(f"sources.{source.name}", source.timeout, lambda s=source: _sampled(s)))
    for name in ("splunk", "elasticsearch"):
        table = getattr(configuration.logs, name)
        if table is not None:
            findings.append(_within(f"logs.{name}", timeout, lambda t=table: _http_answer(t.url, timeout)))
    for name, table in configuration.integrations.configured().items():
        if isinstance(table, EmailIntegration):
            findings.append(_within(f"integrations.{name}", timeout, lambda t=table: _smtp_answer(t, timeout)))
        else:
            findings.append(_within(f"integrations.{name}", timeout,
                                    lambda t=table: _http_answer(t.url, timeout)))
    return findings


def _within(subject: str, seconds: float, probe: Callable[[], str]) -> Finding:
    """Run `probe` on a thread and give up after `seconds` (a source's own timeout may be long)."""
    result: list[Finding] = []

    def run() -> None:
        try:
            result.append(Finding(subject, True, probe()))
        except Exception as exc:  # any failure is the finding, in one line
            result.append(Finding(subject, False, " ".join(str(exc).split()) or type(exc).__name__))

    thread = threading.Thread(target=run, daemon=True, name=f"check-{subject}")
    thread.start()
    thread.join(seconds + 1)
    return result[0] if result else Finding(subject, False, f"no answer within {seconds + 1:g}s")


def _sampled(source) -> str:
    samples = source.sample()
    names = sorted({sample.metric for sample in samples})
    return f"{len(samples)} sample(s): {', '.join(names)}" if names else "answered, but with no sample yet"


def _http_answer(url: str, timeout: float) -> str:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}/"
    response = httpx.get(origin, timeout=timeout, follow_redirects=False)
    return f"{origin} answered HTTP {response.status_code}"


def _smtp_answer(table: EmailIntegration, timeout: float) -> str:
    context = ssl.create_default_context(cafile=table.ca_file)
    if table.implicit_tls:
        client = smtplib.SMTP_SSL(table.host, table.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(table.host, table.port, timeout=timeout)
    with client:
        code, _ = client.ehlo()
        tls = ""
        if table.starttls and not table.implicit_tls:
            if not client.has_extn("starttls"):
                raise RuntimeError(f"{table.host}:{table.port} does not offer STARTTLS; accepted: a server that "
                                   "does, or starttls = false")
            client.starttls(context=context)
            tls = ", STARTTLS ok"
    return f"{table.host}:{table.port} answered EHLO {code}{tls}"
