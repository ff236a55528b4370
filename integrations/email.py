"""Email notifier: incident mail over SMTP (STARTTLS and AUTH) to a stakeholder group's addresses.

  [integrations.email]
  host = "smtp.example.com"
  port = 587                          # submission; 465 with implicit_tls = true
  sender = "incidents@example.com"
  starttls = true                     # upgrade before AUTH; never falls back to plain text
  username_env = "SMTP_USERNAME"      # AUTH only when this variable is set
  password_env = "SMTP_PASSWORD"
  executive_notifications = true      # mail the executive groups (executive_groups)
  customer_updates = false            # mail the customer-facing groups (customer_groups)
  [integrations.email.recipients]     # stakeholder group (comms matrix) -> addresses
  "Executive Team" = ["cto@example.com"]
  "Customer Support" = ["support-leads@example.com"]

One message per outbox row, to the addresses the router put in its `recipients` (the
members of its stakeholder groups, automation/stakeholders.py, and this table's `recipients`
for them), or, routed without them, to this table's `recipients` for its group; a message
with no address is recorded as skipped with the reason, never sent. Subject
"[SEV-1] INC-2024-0118-001 Checkout API returns 502 — declared", a plain-text body, and a
Message-ID derived from the outbox idempotency key: SMTP has no deduplication, so a resend
after a crash between send and mark-sent reaches the inbox again, but with the same
Message-ID (mail clients and archives collapse it, and a person can see it is the same
message). References/In-Reply-To point at a per-incident id so a client threads them.

Outcomes: refused recipients (5xx), refused credentials, a refused sender or message
(5xx) -> rejected; connection trouble, timeouts, TLS failures, 4xx answers -> retry.
If some recipients accepted and others were refused, the message is retried when a refusal
was temporary (4xx; everybody gets the resend) and rejected otherwise (the detail says how
many did get it). The SMTP password is read from the environment at delivery time and
never appears in a detail.
"""
from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Iterable, Mapping

import httpx

from integrations.http import sanitize
from integrations.notifier import Delivery, OutboxMessage, update_text
from integrations.secrets import secret_from_env
from integrations.text import one_line, truncate

DEFAULT_PORT = 587
SUBJECT_MAX = 200
#: Which stakeholder groups each switch governs (exact comms-matrix names, case-insensitive).
EXECUTIVE_GROUPS = ("Executive Team",)
CUSTOMER_GROUPS = ("External Customers",)

_ID_SAFE = re.compile(r"[^A-Za-z0-9.-]+")


def _domain_of(sender: str) -> str:
    domain = sender.rpartition("@")[2].strip().strip(">").strip()
    domain = _ID_SAFE.sub("", domain)
    return domain or "incident-response.invalid"


def message_id_for(idempotency_key: str, sender: str) -> str:
    """The Message-ID of an outbox message: the same key always gives the same id."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<ir.{digest}@{_domain_of(sender)}>"


def thread_id_for(incident_id: str, sender: str) -> str:
    """A per-incident id every message of the incident refers to, so mail clients thread them."""
    digest = hashlib.sha256(incident_id.encode("utf-8")).hexdigest()[:32]
    return f"<ir.incident.{digest}@{_domain_of(sender)}>"


def subject_for(message: OutboxMessage) -> str:
    """ "[SEV-1] INC-2024-0118-001 Checkout API returns 502 — declared" (one line, at most 200 characters)."""
    payload = message.payload or {}
    severity = one_line(payload.get("severity"))
    incident = one_line(payload.get("id") or message.incident_id)
    title = one_line(payload.get("title") or payload.get("summary") or "Incident")
    event = one_line(message.event).replace("_", " ")
    head = " ".join(part for part in (f"[{severity}]" if severity else "", incident, title) if part)
    return truncate(f"{head} \u2014 {event}", SUBJECT_MAX)


_FIELDS = (("Severity", "severity"), ("Status", "status"), ("Type", "type"), ("Environment", "environment"),
           ("Service", "service"), ("Declared", "declared_at"))


def body_for(message: OutboxMessage, group: str | None) -> str:
    """The plain-text body: the incident's facts, what happened, and a link when there is one."""
    payload = message.payload or {}
    incident = one_line(payload.get("id") or message.incident_id or "")
    title = one_line(payload.get("title") or "")
    event = one_line(message.event).replace("_", " ")
    lines = [f"{incident} {title}".strip(), f"Event: {event}"]
    lines += [f"{label}: {one_line(payload[key])}" for label, key in _FIELDS if payload.get(key) not in (None, "")]
    # A status update in the engineer's words (with Affected and Next Update); else the change.
    text = update_text(payload) or str(payload.get("summary") or "").strip()
    if text:
        lines += ["", text]
    url = payload.get("url")
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        lines += ["", f"Details: {one_line(url)}"]
    lines += ["", "--", f"Sent by incident-response to {one_line(group or 'the configured recipients')}."]
    return "\n".join(lines) + "\n"


class _Refused(Exception):
    """Some recipients refused the message after others accepted it."""

    def __init__(self, refused: dict[str, tuple[int, bytes]], accepted: int) -> None:
        super().__init__("recipients refused")
        self.refused = refused
        self.accepted = accepted


class _TLSUnavailable(Exception):
    pass


class EmailNotifier:
    """Delivers outbox messages as email over SMTP (see the module docstring)."""

    integration = "email"

    def __init__(self, host: str, port: int = DEFAULT_PORT, *, sender: str,
                 recipients: Mapping[str, Iterable[str]] | None = None, starttls: bool = True,
                 username_env: str = "SMTP_USERNAME", password_env: str = "SMTP_PASSWORD",
                 timeout: float = 10, executive_notifications: bool = True, customer_updates: bool = False,
                 implicit_tls: bool = False, ca_file: str | None = None,
                 executive_groups: Iterable[str] = EXECUTIVE_GROUPS, customer_groups: Iterable[str] = CUSTOMER_GROUPS,
                 local_hostname: str | None = None) -> None:
        self.host = host
        self.port = int(port)
        self.sender = sender
        self.recipients = {str(group): [str(a).strip() for a in addresses if str(a).strip()]
                           for group, addresses in (recipients or {}).items()}
        self.starttls = starttls
        self.implicit_tls = implicit_tls  # SMTPS (port 465): TLS from the first byte
        self.username_env = username_env
        self.password_env = password_env
        self.timeout = timeout
        self.executive_notifications = executive_notifications
        self.customer_updates = customer_updates
        self.ca_file = ca_file  # a private CA (or a test's self-signed certificate) to trust
        self.executive_groups = {g.casefold() for g in executive_groups}
        self.customer_groups = {g.casefold() for g in customer_groups}
        self.local_hostname = local_hostname

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def recipients_for(self, group: str | None) -> list[str]:
        """The addresses configured for a stakeholder group (name matched case-insensitively)."""
        if group is None:
            return []
        wanted = group.strip().casefold()
        for name, addresses in self.recipients.items():
            if name.strip().casefold() == wanted:
                return list(dict.fromkeys(addresses))
        return []

    def compose(self, message: OutboxMessage, recipients: list[str]) -> EmailMessage:
        """The email for `message` (headers and body), addressed to `recipients`."""
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = ", ".join(recipients)
        mail["Subject"] = subject_for(message)
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = message_id_for(message.idempotency_key or f"outbox-{message.id}", self.sender)
        incident = str((message.payload or {}).get("id") or message.incident_id or "").strip()
        if incident:
            thread = thread_id_for(incident, self.sender)
            mail["In-Reply-To"] = thread
            mail["References"] = thread
            mail["X-Incident-ID"] = one_line(incident)
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        mail.set_content(body_for(message, message.stakeholder_group))
        return mail

    # -- one attempt ------------------------------------------------------------------------------

    def deliver(self, message: OutboxMessage, client: httpx.Client | None = None) -> Delivery:
        """Send the email for `message`; the httpx client is unused (SMTP has its own connection)."""
        group = message.stakeholder_group
        what = f"{message.incident_id or 'the message'} {message.event}"
        name = (group or "").strip().casefold()
        if name in self.executive_groups and not self.executive_notifications:
            return Delivery("skipped", f"Executive email notifications are off; {group} not emailed about {what}.")
        if name in self.customer_groups and not self.customer_updates:
            return Delivery("skipped", f"Customer email updates are off; {group} not emailed about {what}.")
        listed = (message.payload or {}).get("recipients")
        # The router's addresses for the groups' members when it gave them; else this table's own.
        recipients = (list(dict.fromkeys(str(a).strip() for a in listed if str(a).strip()))
                      if isinstance(listed, list) else self.recipients_for(group))
        if not recipients:
            return Delivery("skipped", f"Email: no recipients for {group or 'a message without stakeholder group'}.")
        username = secret_from_env(self.username_env).strip() if self.username_env else ""
        password = secret_from_env(self.password_env) if self.password_env else ""
        if username and not password:
            return Delivery("retry", f"SMTP password missing: set the environment variable {self.password_env}.")
        secrets = [s for s in (password, username) if s]
        try:
            mail = self.compose(message, recipients)
        except (ValueError, TypeError) as error:  # an address or header the email package refuses
            return Delivery("rejected", f"Email for {what} cannot be composed: {sanitize(str(error), secrets)}.")
        try:
            self._send(mail, recipients, username, password)
        except _Refused as refused:
            return self._partly_refused(refused, len(recipients), what, secrets)
        except smtplib.SMTPRecipientsRefused as error:
            return self._all_refused(error.recipients, what, secrets)
        except smtplib.SMTPAuthenticationError as error:
            return Delivery("rejected", f"The SMTP server {self.where} refused the credentials from {self.username_env}/"
                                        f"{self.password_env} ({error.smtp_code}).")
        except smtplib.SMTPNotSupportedError:
            return Delivery("retry", f"The SMTP server {self.where} does not offer AUTH here; check starttls and the port.")
        except _TLSUnavailable:
            return Delivery("retry", f"The SMTP server {self.where} does not offer STARTTLS; not sending in the clear.")
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            step = "sender" if isinstance(error, smtplib.SMTPSenderRefused) else "message"
            reason = sanitize(_text(error.smtp_error), secrets)
            detail = f"The SMTP server {self.where} refused the {step} for {what} ({error.smtp_code} {reason})"
            if error.smtp_code == 530:
                detail += f"; it requires authentication: set {self.username_env} and {self.password_env}"
            return Delivery("retry" if 400 <= error.smtp_code < 500 else "rejected", detail.rstrip() + ".")
        except (smtplib.SMTPConnectError, smtplib.SMTPHeloError) as error:
            return Delivery("retry", f"The SMTP server {self.where} would not talk to us ({error.smtp_code}).")
        except smtplib.SMTPResponseException as error:
            outcome = "retry" if error.smtp_code < 500 else "rejected"
            return Delivery(outcome, f"The SMTP server {self.where} answered {error.smtp_code} "
                                     f"{sanitize(_text(error.smtp_error), secrets)} for {what}.")
        except smtplib.SMTPServerDisconnected:
            return Delivery("retry", f"The SMTP server {self.where} hung up while sending {what}.")
        except ssl.SSLError as error:  # before OSError: certificate and handshake trouble
            reason = getattr(error, "verify_message", None) or getattr(error, "reason", None) or type(error).__name__
            return Delivery("retry", f"TLS with the SMTP server {self.where} failed ({sanitize(str(reason), secrets)}).")
        except (OSError, smtplib.SMTPException) as error:
            return Delivery("retry", f"Could not reach the SMTP server {self.where} for {what} ({type(error).__name__}).")
        return Delivery("sent", f"Emailed {group} ({len(recipients)} recipient{'s' if len(recipients) != 1 else ''}) "
                                f"about {what}.")

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def _send(self, mail: EmailMessage, recipients: list[str], username: str, password: str) -> None:
        if self.implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, local_hostname=self.local_hostname,
                                                  timeout=self.timeout, context=self._tls_context())
        else:
            smtp = smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.starttls and not self.implicit_tls:
                if not smtp.has_extn("starttls"):
                    raise _TLSUnavailable()
                smtp.starttls(context=self._tls_context())
                smtp.ehlo()
            if username:
                smtp.login(username, password)
            refused = smtp.send_message(mail, from_addr=self.sender, to_addrs=recipients)
        except BaseException:
            smtp.close()
            raise
        try:  # the message is accepted: a failing QUIT must not turn it into a retry
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
        if refused:
            raise _Refused(refused, len(recipients) - len(refused))

    def _all_refused(self, refused: dict[str, tuple[int, bytes]], what: str, secrets: list[str]) -> Delivery:
        codes = sorted({code for code, _ in refused.values()})
        first_code, first_text = next(iter(refused.values()))
        reason = f"{first_code} {sanitize(_text(first_text), secrets)}".strip()
        outcome = "retry" if all(400 <= code < 500 for code in codes) else "rejected"
        return Delivery(outcome, f"The SMTP server {self.where} refused every recipient of {what} ({reason}).")

    def _partly_refused(self, error: _Refused, total: int, what: str, secrets: list[str]) -> Delivery:
        addresses = ", ".join(f"{address} ({code})" for address, (code, _) in error.refused.items())
        detail = f"Emailed {error.accepted} of {total} recipients of {what}; refused: {sanitize(addresses, secrets)}"
        if any(400 <= code < 500 for code, _ in error.refused.values()):
            return Delivery("retry", detail + "; sending again.")
        return Delivery("rejected", detail + ".")


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
