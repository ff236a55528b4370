"""Plain-text renderings for the command line (the TUI has its own widgets).

Everything printed from the store (titles, notes, names, vendor replies, restored rows) is
data for a terminal: one line per field, with every control character (C0, C1, DEL),
bidi override or isolate and line or paragraph separator written as its escape
(`playbooks.errors.one_line`: "\\x1b", "\\u202e"), so a planted escape sequence can neither
repaint the terminal nor forge a line, and right-to-left tricks are seen for what they
are. Fields are escaped before they are padded, so the tables stay aligned.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from playbooks.durations import format_duration
from playbooks.errors import one_line

if TYPE_CHECKING:  # the helpers above serve commands that never open a store: kept light
    from store.read_models.incident import IncidentDetail, PinnedSummary
    from store.read_models.summary import IncidentSummary


def shown(value: object) -> str:
    """A stored field on one line, every unprintable character escaped ("" for None)."""
    return "" if value is None else one_line(value)


def shown_lines(text: str) -> str:
    """A document printed to a terminal (a status-page text): its lines kept, and on each
    every unprintable character escaped (a CR, form feed or U+2028 forges no line)."""
    return "\n".join(one_line(line) for line in text.split("\n"))


def _escaped_unprintable(text: str, astral: str) -> str:
    """`text` (a JSON or TOML document) with every unprintable character but its newlines
    as a \\u escape. json.dumps and the TOML writer lay out only spaces and newlines, so any
    other such character is inside a string, where the escape means the same character:
    the document still reads back as the same data. `astral` says how a character beyond
    the BMP is spelled: "json" as a surrogate pair, "toml" as \\UXXXXXXXX."""
    if text.replace("\n", "").isprintable():
        return text

    def escape(char: str) -> str:
        code = ord(char)
        if code <= 0xFFFF:
            return f"\\u{code:04x}"
        if astral == "toml":
            return f"\\U{code:08x}"
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"

    return "".join(c if c.isprintable() or c == "\n" else escape(c) for c in text)


def printable_json(value: Any) -> str:
    """`value` as indented JSON (letters of any script as they are) with every control,
    bidi and separator character as a \\u escape: the same data, safe for a terminal."""
    return _escaped_unprintable(json.dumps(value, indent=2, ensure_ascii=False), "json")


def printable_document(text: str) -> str:
    """A document (JSON, Markdown, text) printed to standard output rather than a file:
    every unprintable character but newline and tab shown as a \\u escape (inside JSON
    strings the same data), so stored text cannot drive the terminal."""
    if text.replace("\n", "").replace("\t", "").isprintable():
        return text
    return "".join(c if c.isprintable() or c in "\n\t" else f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF
                   else f"\\U{ord(c):08x}" for c in text)


def printable_toml(text: str) -> str:
    """A TOML document (`config show`) made safe for a terminal the same way."""
    return _escaped_unprintable(text, "toml")


def _short(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


def incident_table(rows: "list[IncidentSummary]", now: datetime) -> str:
    if not rows:
        return "No incidents match."
    ages = [format_duration(now - row.declared_at) for row in rows]
    # AGE is as wide as its longest value ("1051d 10h"), so TITLE starts at one column on every line.
    age_width = max(8, *(len(age) for age in ages))
    header = f"{'ID':<18} {'SEV':<5} {'TYPE':<11} {'ENV':<11} {'STATUS':<13} {'AGE':>{age_width}}  TITLE"
    lines = [header]
    for row, age in zip(rows, ages):
        # Every field escaped before it is padded: an escape spelled out takes its room.
        id_, severity, type_, environment, status, title = map(
            shown, (row.id, row.severity, row.type, row.environment, row.status, row.title))
        lines.append(f"{id_:<18} {severity:<5} {type_:<11} {environment:<11} {status:<13} {age:>{age_width}}  {title}")
    return "\n".join(lines)


def _pinned_lines(pinned: PinnedSummary | None) -> list[str]:
    """The pinned summary and next steps, one line each (a newline shown as \\n)."""
    if not pinned:
        return ["  summary: none pinned (incident-response summary ID --summary TEXT --next TEXT)"]
    return [f"  summary: {shown(pinned.summary)}  (pinned by {shown(pinned.by)} {_short(pinned.at)} UTC)",
            f"  next steps: {shown(pinned.next_steps) if pinned.next_steps else 'none given'}"]


def incident_text(detail: IncidentDetail, timeline_limit: int = 20) -> str:
    policy = detail.policy
    d = {key: shown(getattr(detail, key)) for key in ("id", "severity", "severity_name", "type", "environment",
                                                      "status", "title", "service", "declared_by")}
    lines = [
        f"{d['id']}  {d['severity']} ({d['severity_name']})  {d['type']}  {d['environment']}  [{d['status']}]",
        f"  {d['title']}" + (f"  (service: {d['service']})" if detail.service else ""),
        f"  declared {_short(detail.declared_at)} UTC by {d['declared_by']};"
        f" acknowledged {_short(detail.acknowledged_at)}",
        f"  response: {shown(policy.response_time)}, due {_short(policy.response_due_at)} UTC"
        + ("  OVERDUE" if policy.response_overdue else ""),
        f"  escalation: {shown(policy.escalation)} -> {', '.join(map(shown, policy.escalation_targets))}",
        f"  updates: {shown(policy.communication)}; next due {_short(policy.next_update_due_at)} UTC"
        + ("  OVERDUE" if policy.update_overdue else ""),
        *_pinned_lines(detail.pinned_summary),
        "",
    ]
    phases = {p.name: p for p in detail.phases}
    current = None
    for step in detail.checklist:
        if step.phase != current:
            current = step.phase
            phase = phases.get(current)
            if phase:
                overdue = "  OVERDUE" if phase.overdue else ""
                lines.append(f"{shown(current)} ({shown(phase.window)}) {phase.done}/{phase.total}{overdue}")
            else:
                lines.append(shown(current))
        lines.append(f"  [{'x' if step.done else ' '}] {step.number:>2}. {shown(step.text)}")
    held = [r for r in detail.roles if r.released_at is None]
    lines.append("")
    lines.append("Roles: " + (", ".join(f"{shown(r.role)}={shown(r.person)}" for r in held) or "none assigned"))
    active = detail.running_remediation
    if active:
        lines.append("Active remediation: " + "; ".join(f"#{a.id} {shown(a.description)}" for a in active))
    lines.append("")
    lines.append(f"Timeline (last {min(timeline_limit, len(detail.timeline))} of {len(detail.timeline)}):")
    for event in detail.timeline[-timeline_limit:]:
        # A note's newlines are shown as \n: one event, one line, so no line can be forged.
        lines.append(f"  {_short(event.at)}  {shown(event.actor)}: {shown(event.summary)}")
    return "\n".join(lines)
