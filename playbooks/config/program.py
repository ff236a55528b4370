"""[store] and [tui]: where the program keeps incidents, and how the command center behaves."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from playbooks.config.table import Table


# --- [store] ---------------------------------------------------------------------------------
class StoreTable(Table):
    """Where incidents are kept. With no [store] table: the SQLite file in the data folder,
    owner-only (mode 0600 in a 0700 folder)."""

    url: str | None = Field(None, description=(
        "database URL: sqlite:///PATH or postgresql://USER@HOST/DB (a team across hosts); "
        "--db and IR_DATABASE_URL win over it; a password belongs in ~/.pgpass, not here"))
    group: str | None = Field(None, min_length=1, description=(
        "a group every member of the team belongs to (see `id -Gn`): the SQLite file is then 0660 "
        "and the folder the store made for it 2770, so the team on one host shares it (a folder the "
        "store did not make, such as a home, keeps its mode: open it to the group yourself)"),
        examples=['oncall'])


# --- [tui] -----------------------------------------------------------------------------------
class TuiTable(Table):
    """The command center."""

    export_dir: str | None = Field(None, min_length=1, description=(
        "folder where `x` writes the handover snapshot (SVG + Markdown), owner-only; default: handovers/ in "
        "the state folder (~/.local/state/incident-response/handovers)"), examples=['~/handovers'])
    keymap: dict[str, str] = Field(default_factory=dict, description=(
        "binding id = key(s) (? in the command center, 120 columns or wider, lists each key's id); a remap onto a "
        "key another binding has on that screen or app-wide is refused and both keep their keys"), examples=[{'war_room.tick': 'T'}])
    bell: bool = Field(False, description=(
        "true: ring the terminal bell with each announcement (a new SEV-1/2, an escalation, a missed update, "
        "someone else's change to the open incident)"))
    read_only: bool = Field(False, description=(
        "true: the command center watches and does not act (as `--read-only`): every writing key is refused"))

    @field_validator("export_dir")
    @classmethod
    def _home_known(cls, folder: str | None) -> str | None:
        if folder is not None:
            try:
                Path(folder).expanduser()
            except RuntimeError:  # ~name of a user this host does not know
                raise ValueError(f"{folder!r} starts with the home of a user this host does not know; accepted: "
                                 "a folder path, ~ or ~USER of a user on this host") from None
        return folder
