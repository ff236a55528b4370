"""Every server and program a test starts dies with the test process, even when that
process is SIGKILLed or timed out: an interrupted run must not leave a PostgreSQL,
Prometheus, `serve` or command center running, orphaned, holding its port.

Linux's prctl(PR_SET_PDEATHSIG, SIGKILL) asks the kernel to kill a child when its parent
dies; it is set in the child between fork and exec (`preexec_fn`), so it needs no
cooperation from the program. Three things it does not cover, and how they are handled:

- the "parent" is the *thread* that forked, so a child started from a short-lived thread
  would be killed when that thread ends: `popen` refuses to start from any thread but the
  main one (the thread that lives as long as the test process);
- the setting is cleared when the child changes its user (`runuser`, a set-user-ID
  program), so servers that must not run as root are started with Popen's own `user=`,
  which switches user *before* `preexec_fn` runs;
- a program that daemonises (`pg_ctl start`) is no longer our child: servers are
  started directly (`postgres`, not `pg_ctl`) and stopped by signalling them.

A pytest-xdist worker ties itself to the controller the same way (`tie_to_parent`), so
killing the controller takes down the workers, and with them their servers.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

_libc = ctypes.CDLL(None, use_errno=True)
_prctl = _libc.prctl
_prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_prctl.restype = ctypes.c_int


class LifetimeError(RuntimeError):
    pass


def _die_with(parent_pid: int) -> None:
    """Runs in the child (after fork, before exec): die when `parent_pid` does."""
    if _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(126)  # without the guarantee the child must not run at all
    # The parent may have died between fork and prctl: then nobody will send the signal.
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGKILL)
    # A run started in the background by a non-interactive shell (CI, `make test &`) ignores
    # SIGINT and SIGQUIT, and a child would inherit that: tests that stop a server with
    # SIGINT (Ctrl-C) must reach it with the default disposition a user's terminal gives.
    for number in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(number, signal.SIG_DFL)


def die_with_this_process():
    """A `preexec_fn` that ties the child's life to the calling (test) process."""
    if threading.current_thread() is not threading.main_thread():
        raise LifetimeError(
            "start test servers and subprocesses from the main thread: a child started from another "
            "thread is killed when that thread ends")
    parent = os.getpid()
    return lambda: _die_with(parent)


def _with_lifetime(kwargs: dict) -> dict:
    if "preexec_fn" in kwargs:
        raise LifetimeError("lifetime.popen sets preexec_fn itself; it does not take another one")
    return {**kwargs, "preexec_fn": die_with_this_process()}


def popen(argv, **kwargs) -> subprocess.Popen:
    """subprocess.Popen whose child dies when this process dies (even by SIGKILL)."""
    return subprocess.Popen(argv, **_with_lifetime(kwargs))


def run(argv, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run whose child dies when this process dies (even by SIGKILL)."""
    return subprocess.run(argv, **_with_lifetime(kwargs))


async def create_subprocess_exec(program, *args, **kwargs):
    """asyncio.create_subprocess_exec whose child dies when this process dies."""
    import asyncio

    return await asyncio.create_subprocess_exec(program, *args, **_with_lifetime(kwargs))


def tie_to_parent() -> None:
    """Make *this* process die when its parent does (a pytest-xdist worker and its controller)."""
    parent = os.getppid()
    if _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise LifetimeError(f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(ctypes.get_errno())}")
    if os.getppid() != parent or parent == 1:
        os.kill(os.getpid(), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owned_temp_dir(prefix: str) -> Path:
    """A fresh folder under /tmp named after this process, e.g. /tmp/ir-pg-1234-abcd.

    A killed run cannot clean up after itself, so each new one first removes the folders
    of owners that no longer exist (a live owner's folder, another xdist worker's, is kept)."""
    root = Path("/tmp")
    for leftover in root.glob(f"{prefix}*-*"):
        owner = leftover.name[len(prefix):].split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(leftover, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=root))
