"""Inbound alert bodies -> what they mean for an incident. Pure: no I/O, no store.

Three forms are understood, one per route of ``incident-response serve``:

Alertmanager webhook (``webhook_config``, payload ``"version": "4"``)
    One notification per alert *group*: ``receiver``, ``status`` (firing|resolved),
    ``groupKey``, ``groupLabels``, ``commonLabels``, ``commonAnnotations``,
    ``externalURL``, ``truncatedAlerts`` and ``alerts[]`` (each: ``status``, ``labels``,
    ``annotations``, ``startsAt``, ``endsAt``, ``generatorURL``, ``fingerprint``).
    Dedup key ``am:<groupKey>``: one incident per group.

Grafana alerting webhook (the contact point's "Webhook" integration)
    The same Alertmanager-like body plus ``orgId``, ``state``, ``title``, ``message``
    and per-alert ``silenceURL``, ``dashboardURL``, ``panelURL``, ``values`` /
    ``valueString``. Dedup key ``grafana:<fingerprint of the first alert>``, or
    ``grafana:<groupKey>`` when the first alert carries no fingerprint.

Generic JSON (for anything else: cron jobs, scripts, other monitors)::

    {
      "key": "db-pool-exhausted",        # required: the dedup key, one open incident per key
      "status": "firing",                # required: "firing" or "resolved"
      "title": "Pool at 100%",           # required when firing (one line, cut to 200 chars)
      "severity": "critical",            # optional, default "high"; any policy alias (p1, sev1, 1 ...)
      "type": "outage",                  # optional, default "outage"; or security, performance, data, integration
      "environment": "production",       # optional, default "production"; or staging, development (prod/stage/dev)
      "service": "checkout",             # optional
      "description": "free text",        # optional, kept on the timeline event
      "rule": "security_anomaly",        # optional: a rule of rules.toml whose actions apply
      "log_query": "failed password",    # optional: narrows the rule's log collection
      "source_ip": "203.0.113.7",        # optional: the address a rule proposes to isolate
      "labels": {"alertname": "DiskFull"} # optional: labels for silences and [alerts] group_by
    }

    Dedup key ``generic:<key>``. ``incident_type`` is accepted for ``type`` and ``env``
    for ``environment``.

Mapping (Alertmanager and Grafana): the labels ``severity``, ``type`` (or
``incident_type``), ``environment`` (or ``env``) and ``service`` of each alert, falling
back to ``commonLabels``; missing ones default to severity ``high``, type ``outage``,
environment ``production``. An alert that names a rule of ``rules.toml`` (its ``rule``
label, else its ``alertname``) takes that rule's severity and type where its labels give
none, and the rule's actions apply to the incident it opens; its ``log_query`` label and its
source address (``source_ip``, ``src_ip``, ``client_ip``, ``remote_addr``,
``source_address``, ``address``, else ``instance``) fill the actions' arguments. Besides
the policy's own severity names and aliases, the
Prometheus conventions ``warning``/``warn`` (medium), ``error`` (high) and ``info``
(low) are understood. The title is the alert's ``annotations.summary`` (falling back to
``commonAnnotations.summary``), else its ``alertname`` label, else "Alert".

A group opens one incident: its severity is that of the most severe firing alert, and
type, environment, service and title come from that alert. Every alert is checked,
firing or not, so one bad label anywhere rejects the whole body before anything is
written. A dedup key longer than the store's 128 characters (long group keys) becomes
``<prefix>:sha256:<hex digest>``; the original is kept in the event detail.

``startsAt`` is when monitoring saw the condition first, and becomes the incident's detection
time (its response deadline counts from it) only when it is plausible: within the last
30 days and no more than five minutes ahead of the time the notification was received. One
outside that window (year 2, a clock years off) is ignored; with no plausible one the
receive time is used, and the event's detail says so (``startsAt_ignored``: the times set
aside, ``detected_at_from``: "received").

Every alert keeps its labels (``Alert.labels``: commonLabels under its own; for the generic
form its ``labels`` object plus key, service, severity, type, environment and rule), and each
notification's alerts are listed with them in the event detail (``alerts``): silences match
them, and ``[alerts] group_by`` groups Grafana and generic alerts on them (grouping.py).

Entry points: :func:`parse` (body -> :class:`Notification`, shape checks only; notification.py)
and :func:`plan` (notification + policy [+ the receive time] -> :class:`ConditionChange`, every
value checked; condition_change.py); :func:`understand` is both in one call.
Both raise :class:`PayloadError` with a one-sentence message.
"""
from integrations.alert_payloads.condition_change import ConditionChange, plan, understand
from integrations.alert_payloads.notification import SOURCES, Alert, Notification, PayloadError, parse

__all__ = ["SOURCES", "Alert", "ConditionChange", "Notification", "PayloadError", "parse", "plan", "understand"]
