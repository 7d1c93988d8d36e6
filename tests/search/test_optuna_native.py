"""A search's study reads in Optuna's own tools: params alpha/beta/gamma/seed, the score as the value,
per-epoch accuracy as intermediate values, plain user attrs to filter on."""

from __future__ import annotations

import optuna
import pytest
import search_fakes
from optuna.trial import TrialState

from scalesearch.core.record import TrialRecord
from scalesearch.search.config import SearchConfig
from scalesearch.search.run import run_search


@pytest.fixture
def study(small_config: SearchConfig) -> optuna.Study:
    return run_search(small_config, trainer=search_fakes.fake_train).study


def test_trials_dataframe_has_the_coefficients_as_params(study: optuna.Study) -> None:
    df = study.trials_dataframe()
    assert {"params_alpha", "params_beta", "params_gamma", "params_seed", "value"} <= set(df.columns)
    assert not any(c.startswith("params_idx") for c in df.columns)
    for column in ("accuracy", "flops", "params", "activations", "group", "network", "status", "feasible"):
        assert f"user_attrs_{column}" in df.columns
    done = df[df["state"] == "COMPLETE"]
    assert done["params_alpha"].notna().all() and (done["user_attrs_status"] == "ok").all()
    baseline = done[(done["params_alpha"] == 1.0) & (done["params_beta"] == 1.0) & (done["params_gamma"] == 1.0)]
    assert len(baseline) == 1 and not baseline["user_attrs_feasible"].iloc[0]


def test_value_is_the_candidates_score_and_curves_are_intermediate_values(study: optuna.Study,
                                                                          small_config: SearchConfig) -> None:
    target, w = study.user_attrs["settings"]["target_flops"], small_config.w
    for t in study.get_trials(states=(TrialState.COMPLETE,)):
        rec = TrialRecord.read(t)
        assert rec is not None and len(rec.results) == 1
        run = rec.results[0].result
        assert t.value == pytest.approx(run.accuracy * (t.user_attrs["flops"] / target) ** w)
        assert [t.intermediate_values[e] for e in sorted(t.intermediate_values)] == pytest.approx(run.history)


def test_optuna_visualization_builds(study: optuna.Study) -> None:
    pytest.importorskip("plotly")
    fig = optuna.visualization.plot_slice(study, params=["alpha", "beta", "gamma"])
    assert len(fig.data) == 3
    assert optuna.visualization.plot_intermediate_values(study).data
