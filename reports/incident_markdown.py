"""An incident as a Markdown document (the `export --format md` form)."""
from __future__ import annotations

from typing import Any


def when_text(value: str | None) -> str:
    return value.replace("T", " ").replace("Z", " UTC") if value else "-"


def incident_markdown(detail: dict[str, Any]) -> str:
    """Render the `show --json` detail of an incident as Markdown."""
    policy = detail["policy"]
    lines = [
        f"# {detail['id']}: {detail['title']}",
        "",
        f"- **Severity:** {detail['severity']} ({detail['severity_name']})",
        f"- **Type:** {detail['type']}",
        f"- **Environment:** {detail['environment']}",
        f"- **Service:** {detail['service'] or '-'}",
        f"- **Status:** {detail['status']}",
        f"- **Declared:** {when_text(detail['declared_at'])} by {detail['declared_by']}",
        f"- **Acknowledged:** {when_text(detail['acknowledged_at'])}",
        f"- **Resolved:** {when_text(detail['resolved_at'])}",
        "",
        "## Policy as applied",
        "",
        f"- **Response time:** {policy['response_time']} (due {when_text(policy['response_due_at'])})",
        f"- **Escalation:** {policy['escalation']} ({', '.join(policy['escalation_targets'])})",
        f"- **Updates:** {policy['communication']}; next due {when_text(policy['next_update_due_at'])}",
        "- **Stakeholders:** " + ", ".join(f"{s['group']} ({s['channel']})" for s in policy["stakeholders"]),
        "",
        "## Roles",
        "",
    ]
    current = [r for r in detail["roles"] if r["released_at"] is None]
    lines += [f"- {r['role']}: {r['person']} (since {when_text(r['assumed_at'])})" for r in current] or ["- none assigned"]
    lines += ["", "## Checklist", ""]
    phase = None
    for step in detail["checklist"]:
        if step["phase"] != phase:
            phase = step["phase"]
            window = next((p["window"] for p in detail["phases"] if p["name"] == phase), "")
            lines += ["", f"### {phase} ({window})", ""]
        mark = "x" if step["done"] else " "
        by = f" ({step['done_by']}, {when_text(step['done_at'])})" if step["done"] else ""
        lines.append(f"- [{mark}] {step['number']}. {step['text']}{by}")
    lines += ["", "## Status updates", ""]
    lines += [f"- {when_text(u['posted_at'])} [{u['status']}] {u['message']}" for u in detail["status_updates"]] or ["- none yet"]
    lines += ["", "## Remediation", ""]
    lines += [
        f"- {a['description']} (since {when_text(a['started_at'])}" + (f", {a['outcome']} at {when_text(a['finished_at'])})" if a["finished_at"] else ", active)")
        for a in detail["remediation"]
    ] or ["- none"]
    lines += ["", "## Timeline", ""]
    lines += [f"- {when_text(e['at'])} {e['actor']}: {e['summary']}" for e in detail["timeline"]]
    return "\n".join(lines) + "\n"
