"""Issue 13, acceptance 3: the files the program writes stay put.

- `export -o` (and `report -o`, `rca`/`review -o`): a symbolic link planted at the target is
  refused in one sentence, whatever --force says, and the file it points to is untouched; an
  existing file is refused without --force and left as it was, replaced with it; what is
  written is owner-only (0600) whatever the umask.
- The war room's `x` handover onto a folder that already holds one asks first: keeping writes
  nothing and says which file is there and how to overwrite it; replacing writes both files
  owner-only; a planted link is refused even then.
- `[store] group` re-permissions only the store's own folder: a folder it did not create
  (a home, a team folder) keeps its mode and group, and a link planted where SQLite's files
  go is not followed.
"""
from __future__ import annotations

import grp
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from store.database import open_database
from tests.tui.conftest import settle

IR = str(Path(sys.executable).parent / "incident-response")


def ir(*args, db, check=True):
    # A permissive umask, so an owner-only file is the program's doing, not the test's.
    result = subprocess.run([IR, "--db", db, *args], capture_output=True, text=True, timeout=120,
                            preexec_fn=lambda: os.umask(0o022))
    if check:
        assert result.returncode == 0, result.stderr
    return result


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def refused(result, *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.fixture
def declared(tmp_path):
    db = f"sqlite:///{tmp_path / 'files.db'}"
    incident = ir("critical", "outage", "production", "--no-tui", "--title", "Checkout down", db=db).stdout.strip()
    return db, incident


# Each command that writes a document with -o: (argv with {id}, what the document starts with).
WRITERS = [
    (["export", "{id}", "--format", "md"], "# Handover: "),
    (["export", "{id}", "--format", "json"], "["),
    (["report", "--month", "2024-01", "--format", "md"], "# Monthly Incident Report"),
    (["rca", "{id}", "--export", "md"], "# Root Cause Analysis: "),
    (["review", "{id}", "--export", "html"], "<!doctype html>"),
]


def _argv(template: list[str], incident: str) -> list[str]:
    return [word.replace("{id}", incident) for word in template]


@pytest.mark.parametrize("template,start", WRITERS, ids=[" ".join(w[0][:1] + w[0][2:]) for w in WRITERS])
def test_a_planted_symlink_is_refused_and_what_it_points_to_is_untouched(declared, tmp_path, template, start):
    db, incident = declared
    victim = tmp_path / "authorized_keys"
    victim.write_text("ssh-ed25519 AAAA mine\n")
    victim.chmod(0o644)
    link = tmp_path / "out" / "document"
    link.parent.mkdir()
    link.symlink_to(victim)
    for force in ([], ["--force"]):
        result = ir(*_argv(template, incident), "-o", str(link), *force, db=db, check=False)
        refused(result, str(link), "symbolic link")
        assert victim.read_text() == "ssh-ed25519 AAAA mine\n" and mode(victim) == 0o644
        assert link.is_symlink() and os.readlink(link) == str(victim)
    # A dangling link is no way in either: nothing is created where it points.
    nowhere = tmp_path / "created-through-the-link"
    dangling = tmp_path / "out" / "dangling"
    dangling.symlink_to(nowhere)
    refused(ir(*_argv(template, incident), "-o", str(dangling), db=db, check=False), "symbolic link")
    assert not nowhere.exists() and dangling.is_symlink()
    assert sorted(p.name for p in link.parent.iterdir()) == ["dangling", "document"]  # no temporary left


@pytest.mark.parametrize("template,start", WRITERS, ids=[" ".join(w[0][:1] + w[0][2:]) for w in WRITERS])
def test_an_existing_file_is_kept_without_force_and_replaced_with_it_owner_only(declared, tmp_path, template, start):
    db, incident = declared
    target = tmp_path / "out" / "document"
    target.parent.mkdir()
    target.write_text("the engineer's own notes\n")
    target.chmod(0o644)
    result = ir(*_argv(template, incident), "-o", str(target), db=db, check=False)
    refused(result, str(target), "already exists", "--force")
    assert target.read_text() == "the engineer's own notes\n" and mode(target) == 0o644
    ir(*_argv(template, incident), "-o", str(target), "--force", db=db)
    assert target.read_text().startswith(start)
    assert mode(target) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["document"]  # no temporary left


@pytest.mark.parametrize("template,start", WRITERS, ids=[" ".join(w[0][:1] + w[0][2:]) for w in WRITERS])
def test_a_new_file_is_owner_only(declared, tmp_path, template, start):
    db, incident = declared
    target = tmp_path / "new" / "folder" / "document"
    ir(*_argv(template, incident), "-o", str(target), db=db)
    assert target.read_text().startswith(start) and mode(target) == 0o600


def test_svg_and_html_exports_into_a_folder_refuse_to_replace_and_are_owner_only(declared, tmp_path):
    db, incident = declared
    out = tmp_path / "handover"
    ir("export", incident, "--format", "svg", "-o", f"{out}/", db=db)
    svg = out / f"{incident}-war-room.svg"
    first = svg.read_text()
    assert first.startswith("<svg") and mode(svg) == 0o600
    refused(ir("export", incident, "--format", "svg", "-o", f"{out}/", db=db, check=False), str(svg), "--force")
    assert svg.read_text() == first
    page = out / "page.html"
    page.symlink_to(svg)
    refused(ir("export", incident, "--format", "html", "-o", str(page), "--force", db=db, check=False),
            "symbolic link")
    assert svg.read_text() == first


# -- the war room's x handover -----------------------------------------------------------------

async def _handover_prompt(pilot):
    from tui.screens.prompts import TextPrompt
    from tui.screens.war_room import WarRoomScreen

    await settle(pilot)
    assert isinstance(pilot.app.screen, WarRoomScreen)
    await pilot.press("x")
    assert isinstance(pilot.app.screen, TextPrompt)
    await pilot.press("enter")  # the configured folder
    await settle(pilot)


@pytest.fixture
def command_center(tmp_path, policy, clock):
    from store.operations import IncidentStore
    from tui.app import Settings, make_app

    db = open_database(f"sqlite:///{tmp_path / 'tui.db'}")
    store = IncidentStore(db, policy, clock)
    incident = store.declare("high", "outage", "production", actor="alice", title="Checkout down")
    folder = tmp_path / "handover"

    def build():
        return make_app(store, Settings(actor="tester", export_dir=folder, watch=False, detect=False), incident.id)

    yield build, incident.id, folder
    db.dispose()


async def test_x_onto_an_existing_handover_asks_and_keeping_writes_nothing(command_center):
    from tui.screens.prompts import ChoicePrompt

    build, incident_id, folder = command_center
    folder.mkdir()
    markdown = folder / f"{incident_id}-handover.md"
    markdown.write_text("yesterday's handover\n")
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await _handover_prompt(pilot)
        assert isinstance(app.screen, ChoicePrompt)
        await pilot.press("enter")  # the first choice: keep
        await settle(pilot)
        messages = [n.message for n in app._notifications]
    assert markdown.read_text() == "yesterday's handover\n"
    assert not (folder / f"{incident_id}-war-room.svg").exists()
    said = [m for m in messages if m.startswith("Nothing written")]
    assert said == [f"Nothing written: {markdown} already exists; accepted: another folder, or press x again and "
                    "choose \u201cReplace them\u201d to overwrite it."], messages


async def test_x_onto_an_existing_handover_replaces_it_owner_only_once_confirmed(command_center):
    from tui.screens.prompts import ChoicePrompt

    build, incident_id, folder = command_center
    folder.mkdir()
    markdown = folder / f"{incident_id}-handover.md"
    markdown.write_text("yesterday's handover\n")
    markdown.chmod(0o644)
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await _handover_prompt(pilot)
        assert isinstance(app.screen, ChoicePrompt)
        await pilot.press("j", "enter")  # the second choice: replace
        await settle(pilot)
        messages = [n.message for n in app._notifications]
    assert markdown.read_text().startswith(f"# Handover: {incident_id}"), messages
    svg = folder / f"{incident_id}-war-room.svg"
    assert svg.read_text().startswith("<svg")
    assert mode(markdown) == 0o600 and mode(svg) == 0o600
    assert any(m.startswith("Handover written: ") for m in messages), messages


async def test_x_refuses_a_planted_symlink_without_asking(command_center, tmp_path):
    build, incident_id, folder = command_center
    folder.mkdir()
    victim = tmp_path / "bashrc"
    victim.write_text("export PATH=/usr/bin\n")
    (folder / f"{incident_id}-war-room.svg").symlink_to(victim)
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await _handover_prompt(pilot)
        from tui.screens.war_room import WarRoomScreen

        assert isinstance(app.screen, WarRoomScreen)  # no question: a link is never replaced
        messages = [n.message for n in app._notifications]
    assert victim.read_text() == "export PATH=/usr/bin\n"
    assert not (folder / f"{incident_id}-handover.md").exists()
    assert any("is a symbolic link" in m and str(folder / f"{incident_id}-war-room.svg") in m for m in messages), \
        messages


async def test_x_into_a_new_folder_writes_owner_only_files(command_center):
    build, incident_id, folder = command_center
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await _handover_prompt(pilot)
        await settle(pilot)
    for name in (f"{incident_id}-handover.md", f"{incident_id}-war-room.svg"):
        assert mode(folder / name) == 0o600, name


# -- [store] group -------------------------------------------------------------------------------

def _a_group() -> grp.struct_group:
    for group in grp.getgrall():
        if group.gr_gid != os.getegid() and (os.geteuid() == 0 or group.gr_gid in os.getgroups()):
            return group
    pytest.skip("this user belongs to no group besides its primary one")


def test_store_group_leaves_a_folder_it_did_not_create_as_it_was(tmp_path):
    group = _a_group()
    home = tmp_path / "home"  # a folder of the user's, with their own files in it
    home.mkdir()
    home.chmod(0o750)
    (home / ".bashrc").write_text("mine\n")
    before = os.lstat(home)
    path = home / "incidents.db"
    open_database(f"sqlite:///{path}", group=group.gr_name).dispose()
    after = os.lstat(home)
    assert (stat.S_IMODE(after.st_mode), after.st_gid) == (stat.S_IMODE(before.st_mode), before.st_gid) == \
        (0o750, before.st_gid)
    # The database file is the store's own: shared with the group.
    assert (mode(path), os.lstat(path).st_gid) == (0o660, group.gr_gid)


def test_store_group_leaves_an_empty_folder_someone_made_as_it_was(tmp_path):
    group = _a_group()
    folder = tmp_path / "srv-team"
    folder.mkdir()
    folder.chmod(0o755)
    open_database(f"sqlite:///{folder / 'incidents.db'}", group=group.gr_name).dispose()
    assert mode(folder) == 0o755 and os.lstat(folder).st_gid != group.gr_gid


def test_store_group_shares_the_folder_it_creates(tmp_path):
    group = _a_group()
    folder = tmp_path / "made-by-the-store"
    open_database(f"sqlite:///{folder / 'incidents.db'}", group=group.gr_name).dispose()
    assert (mode(folder), os.lstat(folder).st_gid) == (0o2770, group.gr_gid)


def test_store_group_never_follows_a_planted_symlink(tmp_path):
    group = _a_group()
    folder = tmp_path / "store"
    path = folder / "incidents.db"
    open_database(f"sqlite:///{path}").dispose()  # the store's own folder and file, owner-only
    victim = tmp_path / "id_ed25519"
    victim.write_text("PRIVATE KEY\n")
    victim.chmod(0o600)
    victim_gid = os.lstat(victim).st_gid
    (folder / "incidents.db-wal").symlink_to(victim)
    # migrate=False: no connection is made, so what is checked is the group's chmod alone.
    open_database(f"sqlite:///{path}", group=group.gr_name, migrate=False).dispose()
    assert (mode(victim), os.lstat(victim).st_gid) == (0o600, victim_gid)
    assert victim.read_text() == "PRIVATE KEY\n"
    # A folder link planted in the store's place is not followed either.
    other = tmp_path / "private"
    other.mkdir()
    other.chmod(0o700)
    other_gid = os.lstat(other).st_gid
    (tmp_path / "linked").symlink_to(other, target_is_directory=True)
    open_database(f"sqlite:///{tmp_path / 'linked' / 'incidents.db'}", group=group.gr_name).dispose()
    assert (mode(other), os.lstat(other).st_gid) == (0o700, other_gid)
