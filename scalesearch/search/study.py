"""Open (or create) a search's Optuna study, with the sampler and pruner its settings ask for."""

from __future__ import annotations

import optuna

from scalesearch.core.errors import UsageError
from scalesearch.core.record import StudyRecord, stored_settings
from scalesearch.core.settings import Pruner, Sampler
from scalesearch.search.config import SearchConfig, settings_diff
from scalesearch.search.plan import Plan
from scalesearch.search.storage import open_storage


def make_sampler(config: SearchConfig, worker: int = 0) -> optuna.samplers.BaseSampler:
    """The sampler that proposes candidates. The grid sampler's candidates are chosen by the scheduler and
    fixed per trial (workers.fixed_sampler); the random sampler under it only runs if nothing is fixed."""
    if config.sampler is Sampler.TPE:
        return optuna.samplers.TPESampler(seed=worker, n_startup_trials=min(10, config.n_trials or 10))
    return optuna.samplers.RandomSampler(seed=worker)


def make_pruner(config: SearchConfig) -> optuna.pruners.BasePruner:
    if config.pruner is Pruner.MEDIAN:
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if config.pruner is Pruner.HYPERBAND:
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=config.rungs[0].epochs)
    return optuna.pruners.NopPruner()


def study_storage(p: Plan) -> optuna.storages.RDBStorage:
    """The plan's storage, with its heartbeat settings."""
    return open_storage(p.storage_url, heartbeat_interval=p.config.heartbeat_interval,
                        grace_period=p.config.grace_period)


def open_study(p: Plan, worker: int = 0, create: bool = False,
               storage: optuna.storages.RDBStorage | None = None) -> optuna.Study:
    """Create the study (first run) or load it; a study made with other settings is refused by name.
    ``storage``: one already open (``study_storage``); default: a new connection."""
    storage = storage or study_storage(p)
    sampler, pruner = make_sampler(p.config, worker), make_pruner(p.config)
    if not create:
        return optuna.load_study(study_name=p.study_name, storage=storage, sampler=sampler, pruner=pruner)
    study = optuna.create_study(study_name=p.study_name, storage=storage, sampler=sampler, pruner=pruner,
                                direction="maximize", load_if_exists=True)
    stored = stored_settings(study)
    if stored is None:
        # Two machines starting together both write the same values: last writer wins, nothing differs.
        p.record().write(study)
        return study
    StudyRecord.read(study, p.study_name)  # refuses a study of an older layout in one line
    if stored != p.settings:
        diff = "; ".join(settings_diff(stored, p.settings)[:3])
        raise UsageError(f"study {p.study_name!r} was made with other settings ({diff}): rerun with the "
                         f"study's settings, or pick another --study name")
    return study
