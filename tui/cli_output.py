"""Plain-text renderings for the command line (the TUI has its own widgets)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from playbooks.durations import format_duration
from store.queries import IncidentSummary


def _short(iso: str | None) -> str:
    return iso.replace("T", " ").replace("Z", "")[:16] if iso else "-"


def incident_table(rows: list[IncidentSummary], now: datetime) -> str:
    if not rows:
        return "No incidents match."
    header = f"{'ID':<18} {'SEV':<5} {'TYPE':<11} {'ENV':<11} {'STATUS':<13} {'AGE':>8}  TITLE"
    lines = [header]
    for row in rows:
        age = format_duration(now - row.declared_at)
        lines.append(
            f"{row.id:<18} {row.severity:<5} {row.type:<11} {row.environment:<11} {row.status:<13} {age:>8}  {row.title}"
        )
    return "\n".join(lines)


def incident_text(detail: dict[str, Any], timeline_limit: int = 20) -> str:
    policy = detail["policy"]
    lines = [
        f"{detail['id']}  {detail['severity']} ({detail['severity_name']})  {detail['type']}  {detail['environment']}"
        f"  [{detail['status']}]",
        f"  {detail['title']}" + (f"  (service: {detail['service']})" if detail["service"] else ""),
        f"  declared {_short(detail['declared_at'])} UTC by {detail['declared_by']};"
        f" acknowledged {_short(detail['acknowledged_at'])}",
        f"  response: {policy['response_time']}, due {_short(policy['response_due_at'])} UTC"
        + ("  OVERDUE" if policy["response_overdue"] else ""),
        f"  escalation: {policy['escalation']} -> {', '.join(policy['escalation_targets'])}",
        f"  updates: {policy['communication']}; next due {_short(policy['next_update_due_at'])} UTC"
        + ("  OVERDUE" if policy["update_overdue"] else ""),
        "",
    ]
    phases = {p["name"]: p for p in detail["phases"]}
    current = None
    for step in detail["checklist"]:
        if step["phase"] != current:
            current = step["phase"]
            phase = phases.get(current)
            if phase:
                overdue = "  OVERDUE" if phase["overdue"] else ""
                lines.append(f"{current} ({phase['window']}) {phase['done']}/{phase['total']}{overdue}")
            else:
                lines.append(current)
        lines.append(f"  [{'x' if step['done'] else ' '}] {step['number']:>2}. {step['text']}")
    held = [r for r in detail["roles"] if r["released_at"] is None]
    lines.append("")
    lines.append("Roles: " + (", ".join(f"{r['role']}={r['person']}" for r in held) or "none assigned"))
    active = [a for a in detail["remediation"] if a["finished_at"] is None]
    if active:
        lines.append("Active remediation: " + "; ".join(f"#{a['id']} {a['description']}" for a in active))
    lines.append("")
    lines.append(f"Timeline (last {min(timeline_limit, len(detail['timeline']))} of {len(detail['timeline'])}):")
    for event in detail["timeline"][-timeline_limit:]:
        lines.append(f"  {_short(event['at'])}  {event['actor']}: {event['summary']}")
    return "\n".join(lines)
