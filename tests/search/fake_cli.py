"""`scalesearch` itself with the fake trainer in place of proxy training, as a real process, so tests can signal it
(Ctrl-C to its process group, SIGKILL of the parent or of one worker) and read its exit code and output.

    python fake_cli.py grid --baseline tiny.yaml ...

``SCALESEARCH_FAKE_SLEEP`` and ``SCALESEARCH_FAKE_LOG`` work as in search_fakes (the log's last field is the pid
of the process that trained: a worker's).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # spawned workers inherit sys.path and import search_fakes

import search_fakes  # noqa: E402

import scalesearch.cli.grid as grid_cmd  # noqa: E402
from scalesearch.cli.main import main  # noqa: E402
from scalesearch.search.run import run_search  # noqa: E402

if __name__ == "__main__":
    grid_cmd.run_search = functools.partial(run_search, trainer=search_fakes.fake_train)  # type: ignore[assignment]
    main()
