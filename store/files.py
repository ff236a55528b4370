"""Writing a document the program made (a backup, an export, a handover) onto disk safely.

Every such file holds incident details, so it is written the way `backup` always wrote:

- into a temporary file in the target's own folder, created with O_CREAT|O_EXCL|O_NOFOLLOW
  and mode 0600 (owner-only, whatever the umask), written, fsync'ed;
- then published atomically: hard-linked into place (which never replaces anything, so a
  file that appeared meanwhile is kept), or with `force` renamed over the old file
  (os.replace), and the folder fsync'ed; a reader never sees half a document;
- never through a symbolic link: a link at the target is refused whatever `force` says
  (a planted link would otherwise send the document, or a truncation, wherever it points),
  and the rename and link replace or create the name itself, never what a link names;
- never over an existing file unless `force` is given.

Refusals are one sentence (FileRefused) naming the file and what is accepted; `hint` says how
this caller's user replaces a file (`--force` on the command line, a confirmation in the
command center).
"""
from __future__ import annotations

import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from store.errors import StoreError

FORCE_HINT = "another file name, or --force to replace it"


class FileRefused(StoreError):
    """A file the program will not write; the message is one sentence. Nothing was written."""


def check_target(target: Path, *, force: bool = False, hint: str = FORCE_HINT) -> Path:
    """Refuse a target that is a symbolic link, a folder or anything but a regular file, or
    that exists when `force` is not given. Looks at the name itself (lstat), never through it."""
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise FileRefused(f"cannot look at {target} ({exc.strerror}); accepted: a writable file path") from None
    if stat.S_ISLNK(info.st_mode):
        raise FileRefused(f"{target} is a symbolic link and is never written through; accepted: a path that is "
                          "not a link (remove the link, or name the file it points to)")
    if stat.S_ISDIR(info.st_mode):
        raise FileRefused(f"{target} is a folder; accepted: the path of a file to write")
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(f"{target} is not a regular file; accepted: the path of a regular file to write")
    if not force:
        raise FileRefused(f"{target} already exists; accepted: {hint}")
    return target


def fsync_dir(folder: Path) -> None:
    """Make a rename or link in `folder` durable (best effort: not every filesystem can)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _create_private(folder: Path, name: str) -> tuple[int, Path]:
    """A new owner-only file in `folder` that did not exist and is not a link: (fd, path)."""
    for _ in range(100):
        path = folder / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            continue
        os.fchmod(fd, 0o600)  # the umask can only take bits away; say it outright anyway
        return fd, path
    raise FileExistsError(f"no free temporary name in {folder}")


@contextmanager
def temporary_beside(target: Path) -> Iterator[Path]:
    """An owner-only temporary file in the target's folder, removed unless published."""
    fd, tmp = _create_private(target.parent, target.name)
    os.close(fd)
    try:
        yield tmp
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
            try:
                leftover.unlink()
            except FileNotFoundError:
                pass


def publish(tmp: Path, target: Path, force: bool, hint: str = FORCE_HINT) -> None:
    """Move the finished temporary file into place atomically (never over a file unless forced,
    never through a link)."""
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    if force:
        check_target(target, force=True, hint=hint)  # a link planted since the first look is refused too
        os.replace(tmp, target)  # rename replaces the name itself: a link there would be replaced, not followed
    else:
        try:
            os.link(tmp, target, follow_symlinks=False)  # atomic and never replaces (a dangling link included)
        except FileExistsError:
            check_target(target, force=False, hint=hint)  # says which: a link, a folder, or a file
            raise FileRefused(f"{target} already exists; accepted: {hint}") from None
        except OSError:  # a filesystem without hard links
            check_target(target, force=False, hint=hint)
            os.replace(tmp, target)
        else:
            os.unlink(tmp)
    fsync_dir(target.parent)


def write_private_file(target: Path, data: str | bytes, *, force: bool = False, hint: str = FORCE_HINT) -> Path:
    """Write `data` (text as UTF-8) to `target` owner-only and atomically; see the module.
    Creates the target's folder (owner-only) if it is missing."""
    target = Path(target)
    check_target(target, force=force, hint=hint)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = _create_private(target.parent, target.name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        publish(tmp, target, force, hint)
    finally:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
    return target
