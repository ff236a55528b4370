"""The one-key handover document: what the next engineer needs to take over."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from reports.markdown import md_block, md_line as m

if TYPE_CHECKING:
    from store.read_models.incident import IncidentDetail, PinnedSummary

HANDOVER_EVENTS = 20


def when_text(value: datetime | str | None) -> str:
    """"2024-01-15 14:30 UTC" from a naive UTC time, or from an ISO 8601 Z timestamp."""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    return f"{value[:10]} {value[11:16]} UTC" if value else "-"


def pinned_summary_lines(pinned: PinnedSummary | None) -> list[str]:
    """The pinned summary and next steps first: what the next engineer reads before anything else."""
    lines = ["## Current summary", ""]
    if not pinned:
        return lines + ["None pinned (`S` in the war room, or `incident-response summary ID --summary TEXT --next TEXT`).", ""]
    lines += [md_block(pinned.summary, indent=0), "", f"**Next steps:** {md_block(pinned.next_steps) if pinned.next_steps else 'none given'}", "",
              f"Pinned by {m(pinned.by)} at {when_text(pinned.at)}.", ""]
    return lines


def handover_markdown(detail: IncidentDetail, generated_at: str | None, compliance_clocks: list[dict] | None = None) -> str:
    """Roles, status, done/open by phase, next update due, compliance clocks, last 20 events.

    Every stored text is written through reports.markdown (m: one line, md_block: a value
    that may span lines), so a title, note or name is shown and never becomes a heading,
    list item, link or HTML of the document."""
    policy = detail.policy
    severity, kind, environment = m(detail.severity), m(detail.type), m(detail.environment)
    lines = [
        f"# Handover: {m(detail.id)} — {m(detail.title)}",
        "",
        f"Generated {when_text(generated_at)}.",
        "",
        f"**{severity} {kind} in {environment}, {m(detail.status)}.**",
        "",
        *pinned_summary_lines(detail.pinned_summary),
        "## Status",
        "",
        f"- **Severity:** {severity} ({m(detail.severity_name)}), {kind} in {environment}",
        f"- **Status:** {m(detail.status)}",
        f"- **Declared:** {when_text(detail.declared_at)}; acknowledged {when_text(detail.acknowledged_at)}",
        f"- **Response due:** {when_text(policy.response_due_at)}" + (" — OVERDUE" if policy.response_overdue else ""),
        f"- **Next status update due:** {when_text(policy.next_update_due_at)}"
        + (" — OVERDUE" if policy.update_overdue else "") + f" ({m(policy.communication)})",
        f"- **Escalation:** {m(policy.escalation)} ({', '.join(m(t) for t in policy.escalation_targets)})",
        "- **Stakeholders:** " + ", ".join(f"{m(s.group)} ({m(s.channel)})" for s in policy.stakeholders),
        f"- **Service:** {m(detail.service) if detail.service else '-'}; declared by {m(detail.declared_by)}",
        "",
        "## Roles",
        "",
    ]
    held = [r for r in detail.roles if r.released_at is None]
    lines += [f"- **{m(r.role)}:** {m(r.person)} since {when_text(r.assumed_at)}" for r in held] or ["- nobody assigned"]
    lines += ["", "## Checklist by phase", ""]
    for phase in detail.phases:
        steps = [s for s in detail.checklist if s.phase == phase.name]
        overdue = " — OVERDUE" if phase.overdue else ""
        lines += [f"### {m(phase.name)} ({m(phase.window)}): {phase.done}/{phase.total} done{overdue}", ""]
        done = [s for s in steps if s.done]
        open_ = [s for s in steps if not s.done]
        lines += ["Open:"] + [f"- [ ] {s.number}. {md_block(s.text)}" for s in open_] if open_ else ["Open: none"]
        lines += ["", "Done:"] + [f"- [x] {s.number}. {md_block(s.text)} ({m(s.done_by)})" for s in done] if done else ["", "Done: none"]
        lines.append("")
    lines += ["## Compliance clocks", ""]
    lines += [f"- **{m(c['regime'])}:** {md_block(c['requirement'])} — due {when_text(c['due_at'])}" for c in (compliance_clocks or [])] \
        or ["- none running"]
    active = detail.running_remediation
    lines += ["", "## Active remediation", ""]
    lines += [f"- {md_block(a.description)} (since {when_text(a.started_at)}, {m(a.started_by)})"
              for a in active] or ["- none"]
    events = detail.timeline[-HANDOVER_EVENTS:]
    lines += ["", f"## Last {len(events)} timeline events", ""]
    lines += [f"- {when_text(e.at)} **{m(e.actor)}** {md_block(e.summary)}" for e in events]
    return "\n".join(lines) + "\n"
