"""Regenerate screenshots/: each main screen at 80x24 and 160x48, from the demo data set
at a frozen clock (Monday 2024-01-15 14:35 UTC). Run by `make screenshots`."""
from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playbooks import load_policy  # noqa: E402
from store.database import open_database  # noqa: E402
from store.demo import seed_demo  # noqa: E402
from store.operations import IncidentStore  # noqa: E402
from tui.app import Settings, make_app  # noqa: E402


class DemoClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


async def settle(pilot) -> None:
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        for screen in pilot.app.screen_stack:
            await screen.workers.wait_for_complete()
        await pilot.pause(0.05)


SCREENS = {
    "dashboard": [],
    "war-room": ["enter"],
    "declare": ["d", *"Checkout returns 500s"],
    "status-update": ["enter", "u"],
    "help": ["enter", "question_mark"],
}


async def shoot(store: IncidentStore, name: str, keys: list[str], size: tuple[int, int], out: Path) -> Path:
    app = make_app(store, Settings(actor="demo", watch=False, detect=False, export_dir=out))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        path = out / f"{name}-{size[0]}x{size[1]}.svg"
        path.write_text(app.export_screenshot(title=f"incident-response: {name}"), encoding="utf-8")
    return path


async def main() -> None:
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        clock = DemoClock(datetime(2024, 1, 15, 14, 35))
        db = open_database(f"sqlite:///{tmp}/demo.db")
        store = IncidentStore(db, load_policy(), clock)
        seed_demo(store, clock)
        for name, keys in SCREENS.items():
            for size in [(80, 24), (160, 48)]:
                print(await shoot(store, name, keys, size, out))
        db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
