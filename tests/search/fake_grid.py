"""Run a small search with the fake trainer as a real process, so tests can SIGKILL it mid-trial.

    python fake_grid.py OUT BASELINE [STORAGE_URL|-] [WORKERS] [STUDY]
"""

from __future__ import annotations

import sys
from pathlib import Path

import search_fakes  # beside this script: its folder is sys.path[0]

from scalesearch.search.config import SearchConfig  # noqa: E402
from scalesearch.search.run import run_search  # noqa: E402
from scalesearch.search.schedule import Rung  # noqa: E402
from scalesearch.train import ProxyConfig  # noqa: E402


def config(out: Path, baseline: str, storage: str | None = None, workers: int = 1,
           study: str = "killed") -> SearchConfig:
    return SearchConfig(baseline=baseline, data="synthetic", alpha="1.0:2.0:0.2", beta="1.0:1.4:0.2",
                        gamma="1.0:1.4:0.2", tolerance=0.1, proxy=ProxyConfig(batch_size=32),
                        rungs=(Rung(2, 1),), references=(),
                        out=out, workers=workers, poll_seconds=0.2, heartbeat_interval=1, grace_period=3,
                        study=study, storage=storage, cache=False)


if __name__ == "__main__":
    out, baseline = Path(sys.argv[1]), sys.argv[2]
    storage = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
    workers = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    study = sys.argv[5] if len(sys.argv) > 5 else "killed"
    run_search(config(out, baseline, storage, workers, study), trainer=search_fakes.fake_train)
