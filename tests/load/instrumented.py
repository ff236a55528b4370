"""The real command line with its acknowledgements logged: `python -m tests.load.instrumented
LOG.jsonl ARGS...` runs `incident-response ARGS...` (tui.cli.main, unchanged) after
harness.install_commit_log, so every committed write is in LOG.jsonl with its seq."""
import sys
from pathlib import Path

from tests.load.harness import JsonLog, install_commit_log

if __name__ == "__main__":
    install_commit_log(JsonLog(Path(sys.argv[1])), lambda: sys.argv[2] if len(sys.argv) > 2 else "")
    from tui.cli import main

    sys.exit(main(sys.argv[2:]))
