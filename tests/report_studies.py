"""Tiny studies on disk for report tests: a study folder with study.db, built by hand (nothing trained)."""

from __future__ import annotations

from pathlib import Path

import optuna
from study_builders import row, run, study_record, trial

from scalesearch.core.spec import NetSpec

# (candidate triple, network, FLOPs); two candidates share network 3 (a collapse group)
CANDIDATES = [((1.0, 1.0, 1.0), 0, 1000), ((1.2, 1.1, 1.15), 1, 1900), ((1.0, 1.2, 1.15), 2, 2000),
              ((1.4, 1.0, 1.2), 3, 2050), ((1.5, 1.0, 1.2), 3, 2050), ((1.0, 1.0, 1.4), 4, 1960)]
# Every network trained, as a finished grid leaves them (one untrained would make the study partial)
ACCURACY = {0: 0.80, 1: 0.90, 2: 0.92, 3: 0.88, 4: 0.83}


def make_study(folder: Path, spec: NetSpec, *, trained: bool = True, running: bool = False) -> Path:
    """A study folder as `grid` leaves it (study.db only). ``trained``: networks 0-4 have finished runs
    (two seeds for 1 and 2); ``running``: one more trial is still RUNNING."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [row(i, n, t, f, baseline=i == 0) for i, (t, n, f) in enumerate(CANDIDATES)]
    record = study_record(spec, rows)
    study = optuna.create_study(study_name="tiny-study", storage=f"sqlite:///{folder / 'study.db'}",
                                direction="maximize")
    record.write(study)
    if trained:
        for index, (_, network, _) in enumerate(CANDIDATES):
            if network in ACCURACY:
                seeds = [0, 1] if network in (1, 2) else [0]
                runs = [run(s, ACCURACY[network] + 0.01 * s) for s in seeds]
                study.add_trial(trial(record, index, seeds, runs))
    if running:
        study.ask()  # a trial a worker is training right now
    return folder
