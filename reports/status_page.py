"""The spec's "Status Page Update Template", filled from an incident."""
from __future__ import annotations

from datetime import datetime
from typing import Any

SEVERITY_MARK = {"SEV-1": "🔴", "SEV-2": "🟠", "SEV-3": "🟡", "SEV-4": "🔵"}


def _hhmm(iso: str | None) -> str:
    return datetime.fromisoformat(iso.rstrip("Z")).strftime("%H:%M UTC") if iso else "-"


def status_page_text(detail: dict[str, Any], headline: str, message: str, affected: str | None,
                     posted_at: str, next_update_at: str | None) -> str:
    """Render one status update the way the spec's template shows it."""
    posted = datetime.fromisoformat(posted_at.rstrip("Z"))
    lines = [
        f"{SEVERITY_MARK.get(detail['severity'], '')} [{detail['severity_name'].upper()}] "
        f"{headline} - {detail['status'].capitalize()}".strip(),
        f"Posted: {posted:%Y-%m-%d %H:%M} UTC",
        f"Affected: {affected or detail['title']}",
        "",
        message,
        "",
    ]
    if next_update_at:
        lines.append(f"Next Update: {_hhmm(next_update_at)}")
    lines.append(f"Incident ID: {detail['id']}")
    earlier = detail["status_updates"]
    if earlier:
        lines += ["", "Updates:"]
        lines += [f"- {_hhmm(u['posted_at'])}: {u['message'].splitlines()[0]}" for u in earlier]
    return "\n".join(lines) + "\n"
