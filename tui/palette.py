"""The command palette's incidents: every open incident by id, severity and title, enter
opens its war room. Titles are stored text: shown as Text, never markup (Textual reads a
plain string prompt or help text as markup)."""
from __future__ import annotations

import asyncio
from functools import partial

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.plain import visible

LIMIT = 50  # enough for any on-call shift; the `:` line opens any incident by id


class OpenIncidentCommands(Provider):
    """Open incidents, most severe first (the dashboard's order)."""

    async def _incidents(self) -> list[tuple[str, str]]:
        """(id, what the palette shows) for each open incident, read off the UI thread."""
        store = getattr(self.app, "store", None)
        if store is None:
            return []  # still opening: the palette offers the screen's actions meanwhile

        def read() -> list[tuple[str, str]]:
            from store.queries import list_incidents

            with store.db.read() as session:
                rows = list_incidents(session, status="open", limit=LIMIT)
            return [(row.id, visible(f"Open {row.id} {row.severity} {row.title} ({row.status})"))
                    for row in rows]

        return await asyncio.to_thread(read)

    def _open(self, incident_id: str) -> None:
        self.app.open_war_room(incident_id)

    async def discover(self) -> Hits:
        for incident_id, shown in await self._incidents():
            yield DiscoveryHit(Text(shown), partial(self._open, incident_id), text=shown,
                               help=f"its war room ({incident_id})")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for incident_id, shown in await self._incidents():
            if (score := matcher.match(shown)) > 0:
                yield Hit(score, Text(shown), partial(self._open, incident_id), text=shown,
                          help=f"its war room ({incident_id})")
