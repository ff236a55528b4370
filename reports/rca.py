"""The spec's Root Cause Analysis template as a document (Markdown, self-contained HTML,
JSON), from store.review_queries.read_rca: incident summary, timeline, root cause with
its details, contributing factors, tagged corrective actions, the impact assessment and
the audit trail's verification."""
from __future__ import annotations

import html
import json
from datetime import datetime

from reports.markdown import md_block, md_line as m
from reports.safe_html import CSP_META, markdown_to_html
from store.read_models.review import ActionItemRow, RcaDetail

FORMATS = ("md", "html", "json")
STYLE = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}"
         "h1{font-size:1.6rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem}"
         "code{background:#f4f4f4;padding:0 .2rem}")


def when(moment: datetime | None) -> str:
    """"2024-01-18 14:30 UTC"."""
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "-"


def item_line(item: ActionItemRow) -> str:
    """"[Immediate] Add pool alerting (owner alice, due 2024-01-25, open, OVERDUE, Jira OPS-1)"."""
    facts = [f"owner {m(item.owner)}" if item.owner else "no owner",
             f"due {m(item.due_on.isoformat())}" if item.due_on else "no due date", m(item.status)]
    if item.overdue:
        facts.append("OVERDUE")
    if item.ticket:
        facts.append(f"Jira {m(item.ticket)}")
    return f"[{m(item.tag)}] {md_block(item.title, 3)} ({', '.join(facts)})"


def rca_markdown(detail: RcaDetail) -> str:
    """The RCA in Markdown; every stored text through reports.markdown (m: one line,
    md_block: a value that may span lines), so it is shown and never becomes markup."""
    summary, impact, root, audit = detail.summary, detail.impact_assessment, detail.root_cause, detail.audit_trail
    lines = [
        f"# Root Cause Analysis: {m(summary.id)} — {m(summary.title)}",
        "",
        f"Generated {when(detail.generated_at)} from the incident record"
        + (f"; last edited by {m(detail.updated_by)} at {when(detail.updated_at)}." if detail.updated_by else "."),
        "",
        "## Incident Summary",
        "",
        f"- ID: {m(summary.id)}",
        f"- Severity: {m(summary.severity)} ({m(summary.severity_id)})",
        f"- Duration: {summary.duration}",
        f"- Impact: {md_block(summary.impact_text)}",
        "",
        "## Timeline",
        "",
    ]
    lines += [f"- {line.time} - {md_block(line.text)}" for line in detail.timeline] or ["- nothing recorded"]
    lines += ["", "## Root Cause", "", f"Root Cause: {md_block(root.summary, 0)}", ""]
    lines += [f"- {md_block(text)}" for text in root.details] or ["- no details recorded yet"]
    lines += ["", "## Contributing Factors", ""]
    lines += [f"{n}. {md_block(text, len(str(n)) + 2)}" for n, text in enumerate(detail.contributing_factors, 1)] \
        or ["- none recorded yet"]
    lines += ["", "## Corrective Actions", ""]
    lines += [f"{n}. {item_line(item)}" for n, item in enumerate(detail.corrective_actions, 1)] \
        or ["- none recorded yet"]
    customers = impact.customers_affected
    lines += [
        "", "## Impact Assessment", "",
        f"- Duration: {impact.duration} (from {when(impact.window.began)} to {when(impact.window.ended)})",
        f"- Customers affected: {customers:,}" if customers is not None else "- Customers affected: not recorded",
        f"- Estimated cost: {m(impact.estimated_cost_text)}",
        f"- Time to acknowledge: {impact.time_to_acknowledge_text or 'not acknowledged'}; "
        f"time to resolve: {impact.time_to_resolve_text or 'not resolved'}"
        + (f"; time to detect: {impact.time_to_detect_text}" if impact.time_to_detect_text else ""),
        f"- Severity policy: {m(impact.severity_impact)}; {m(impact.customer_impact)}; {m(impact.revenue_impact)}",
        "", "## Audit Trail", "",
        m(audit.text) + (f" ({audit.incident_events} of them for this incident; "
                         "the timeline's hash chain is intact)." if audit.ok else "."),
    ]
    return "\n".join(lines) + "\n"


def html_document(markdown_text: str, title: str) -> str:
    """A self-contained HTML page (inline style, no scripts, raw HTML in the text escaped,
    a Content-Security-Policy that runs and loads nothing)."""
    body = markdown_to_html(markdown_text)
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{CSP_META}"
            f"<title>{html.escape(title, quote=True)}</title><style>{STYLE}</style></head><body>\n{body}</body></html>\n")


def rca_html(detail: RcaDetail) -> str:
    return html_document(rca_markdown(detail), f"Root Cause Analysis {detail.summary.id}")


def rca_json(detail: RcaDetail) -> str:
    return json.dumps(detail.as_json(), indent=2, ensure_ascii=False) + "\n"


def render_rca(detail: RcaDetail, fmt: str) -> str:
    return {"md": rca_markdown, "html": rca_html, "json": rca_json}[fmt](detail)
