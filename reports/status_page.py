"""The spec's "Status Page Update Template", filled from an incident."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.read_models.incident import IncidentDetail

SEVERITY_MARK = {"SEV-1": "🔴", "SEV-2": "🟠", "SEV-3": "🟡", "SEV-4": "🔵"}


def _hhmm(moment: datetime | None, posted: datetime | None = None) -> str:
    """"15:00 UTC", with the date in front when it is not the posting day."""
    if moment is None:
        return "-"
    if posted is not None and moment.date() != posted.date():
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%H:%M UTC")


def status_page_text(detail: IncidentDetail, headline: str, message: str, affected: str | None,
                     posted: datetime, next_update_at: datetime | None) -> str:
    """Render one status update the way the spec's template shows it (times naive UTC);
    the detail's status updates are listed under Updates."""
    lines = [
        f"{SEVERITY_MARK.get(detail.severity, '')} [{detail.severity_name.upper()}] "
        f"{headline} - {detail.status.capitalize()}".strip(),
        f"Posted: {posted:%Y-%m-%d %H:%M} UTC",
        f"Affected: {affected or '-'}",  # never the internal title: this text is public
        "",
        message,
        "",
    ]
    if next_update_at:
        lines.append(f"Next Update: {_hhmm(next_update_at, posted)}")
    lines.append(f"Incident ID: {detail.id}")
    earlier = detail.status_updates
    if earlier:
        lines += ["", "Updates:"]
        lines += [f"- {_hhmm(u.posted_at)}: {u.message.splitlines()[0]}" for u in earlier]
    return "\n".join(lines) + "\n"
