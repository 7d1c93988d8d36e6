"""The audit library: rank statistics on known inputs, the sample, the verdicts, audit.json and the report,
resuming after an interrupt, and one-line refusals. Studies are searched with the fake trainer (instant)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import optuna
import pytest
from audit_studies import Counting, finished_study, tiny
from search_fakes import fake_train

from scalesearch.audit import AUDIT_FILE, AuditConfig, audit, prepare
from scalesearch.audit.plan import choose_sample
from scalesearch.core.errors import DataError, FieldError, SearchError, UsageError
from scalesearch.core.runs import ProxyResult, RunStatus
from scalesearch.core.spec import NetSpec
from scalesearch.report.render import read_audit, write_report
from scalesearch.search.storage import default_url


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return finished_study(tmp_path_factory.mktemp("audit"), tiny())


@pytest.fixture
def study(built: Path, tmp_path: Path) -> Path:
    """A private copy of the finished study (audits write audit.json into it)."""
    return Path(shutil.copytree(built, tmp_path / built.name))


def config(tmp_path: Path, **kw: Any) -> AuditConfig:
    return AuditConfig(**{"sample": 4, "seeds": 2, "resamples": 200, "cache_path": tmp_path / "proxy.sqlite", **kw})


# -- the sample -----------------------------------------------------------------------------------------

class _Row:
    def __init__(self, network: int) -> None:
        self.network = network


def test_sample_holds_the_leaders_and_spans_the_ranking() -> None:
    ranking = [_Row(n) for n in (10, 11, 12, 13, 14, 15, 16, 17, 18, 19)]
    picked = choose_sample(ranking, [10, 11, 12], 6)  # type: ignore[arg-type]  # _Row: a stand-in with .network
    assert picked[:3] == [10, 11, 12] and picked[-1] == 19 and len(picked) == 6
    assert picked == choose_sample(ranking, [10, 11, 12], 6)  # type: ignore[arg-type]  # _Row: a stand-in with .network
    # A leaders set bigger than the sample still gets two networks from the rest: the best and the last.
    assert choose_sample(ranking, [10, 11, 12, 13], 3) == [10, 11, 12, 13, 14, 19]  # type: ignore[arg-type]  # _Row: a stand-in with .network
    assert choose_sample(ranking, [10], 50) == [r.network for r in ranking]  # type: ignore[arg-type]  # _Row: a stand-in with .network


# -- end to end on a finished study ---------------------------------------------------------------------

def test_audit_writes_audit_json_and_the_report_shows_it(study: Path, tmp_path: Path) -> None:
    trainer = Counting()
    result = audit(study, config(tmp_path), trainer=trainer)
    p = prepare(study, config(tmp_path))
    assert trainer.calls == result.trained == p.runs_needed == len(p.sample) * 2
    data = json.loads((study / AUDIT_FILE).read_text())
    assert data["format"] == 1 and data["config"]["epochs"] == 8 and data["config"]["proxy_width"] == 0.5
    assert data["compute"]["nominal_ratio"] == pytest.approx(8.0)  # 2x epochs x (2x width)^2 of the 4-epoch rung
    # Counted multiply-adds: 2x the epochs, and 2x the width costs between 1x (depthwise, stem) and 4x (pointwise).
    assert 2.0 < data["compute"]["ratio"] <= 8.0 + 1e-9
    assert data["compute"]["ratio"] == pytest.approx(p.compute_ratio)
    ranks = [s["study_rank"] for s in data["sample"]]
    assert ranks[0] == 1 and ranks[-1] == p.ranked_networks  # the winner and the last-ranked network
    assert set(data["leaders"]["study"]) <= {s["network"] for s in data["sample"]}
    assert all(len(s["audit_accuracies"]) == 2 for s in data["sample"])
    rho = data["correlations"]["spearman"]
    assert rho["low"] <= rho["value"] <= rho["high"]
    assert data["meaningful"] and data["machine"]["cpu"]
    assert any("Spearman" in line for line in data["lines"])
    # The report reads it back.
    s = optuna.load_study(study_name=data["study"], storage=default_url(study))
    rep = write_report(s, tmp_path / "report", audit=read_audit(study))
    assert "Audit at a higher fidelity" in (tmp_path / "report" / "summary.md").read_text()
    assert "Audit at a higher fidelity" in (tmp_path / "report" / "index.html").read_text()
    assert rep.view.audit_lines == data["lines"]


def test_more_training_images_count_in_the_compute_ratio(study: Path, tmp_path: Path) -> None:
    # The study trained on all 800 synthetic images at 4 epochs, width 0.25; the same fidelity on 400 images is
    # half the compute, counted and nominal alike, and audit.json records the subsets of both sides.
    half = config(tmp_path, epochs=4, proxy_width=0.25, train_subset=400, val_subset=100)
    p = prepare(study, half)
    assert p.proxy.train_subset == 400 and p.proxy.val_subset == 100
    assert p.nominal_ratio == pytest.approx(0.5) and p.compute_ratio == pytest.approx(0.5)
    audit(study, half, trainer=Counting())
    data = json.loads((study / AUDIT_FILE).read_text())
    assert data["config"]["train_subset"] == 400 and data["config"]["val_subset"] == 100
    assert "train_subset" not in data["study_fidelity"]  # the study used every image: the field is left out
    with pytest.raises(DataError, match="--val-subset 3 cannot hold one image of each of the 10 classes"):
        prepare(study, config(tmp_path, val_subset=3))


def test_an_interrupted_audit_resumes_from_the_cache(study: Path, tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        audit(study, config(tmp_path), trainer=Counting(stop_after=3))
    assert not (study / AUDIT_FILE).exists()
    again = Counting()
    first = audit(study, config(tmp_path), trainer=again)
    needed = prepare(study, config(tmp_path)).runs_needed
    assert again.calls == first.trained == needed - 3 and first.cached == 3
    third = Counting()
    result = audit(study, config(tmp_path), trainer=third)
    assert third.calls == 0 and result.trained == 0 and result.cached == first.cached + first.trained
    assert result.data["correlations"] == first.data["correlations"]


def _constant(accuracy: float, noise: float = 0.0):
    def train(spec: NetSpec, data: Any, cfg: Any, *, seed: int = 0, **_: Any) -> ProxyResult:
        base = fake_train(spec, data, cfg, seed=seed)
        acc = accuracy + noise * (1 if seed % 2 else -1) + 0.0001 * spec.total_layers
        return ProxyResult(RunStatus.OK, acc, history=(acc,), loss_history=base.loss_history, seed=seed)
    return train


def test_a_saturated_reference_means_nothing(study: Path, tmp_path: Path) -> None:
    result = audit(study, config(tmp_path), trainer=_constant(0.995))
    assert result.data["saturated"] and not result.meaningful
    assert any("saturated" in line and "means nothing" in line for line in result.lines)


def test_one_stalled_network_does_not_hide_a_saturated_reference(study: Path, tmp_path: Path) -> None:
    first: list[str] = []

    def train(spec: NetSpec, data: Any, cfg: Any, *, seed: int = 0, **_: Any) -> ProxyResult:
        first.append(first[0] if first else spec.architecture_key())
        acc = 0.3 if spec.architecture_key() == first[0] else 0.995
        return ProxyResult(RunStatus.OK, acc, history=(acc,), loss_history=(1.0,), seed=seed)

    result = audit(study, config(tmp_path), trainer=train)
    assert result.data["audit_accuracy_mean"] < 0.985 <= result.data["audit_accuracy_median"]
    assert result.data["saturated"] and not result.meaningful


def test_a_reference_within_its_noise_means_nothing(study: Path, tmp_path: Path) -> None:
    result = audit(study, config(tmp_path), trainer=_constant(0.6, noise=0.05))
    assert not result.data["saturated"] and not result.meaningful
    assert any("within 2x its seed std" in line for line in result.lines)


def test_one_seed_says_the_noise_is_unknown(study: Path, tmp_path: Path) -> None:
    result = audit(study, config(tmp_path, seeds=1), trainer=Counting())
    assert result.data["seed_noise"]["audit"] is None and not result.meaningful
    assert any("seed noise is unknown" in line for line in result.lines)


# -- refusals -------------------------------------------------------------------------------------------

def test_bad_settings_are_refused_by_field() -> None:
    with pytest.raises(FieldError, match="seeds"):
        AuditConfig(seeds=0)
    with pytest.raises(FieldError, match="sample"):
        AuditConfig(sample=2)
    with pytest.raises(FieldError, match="proxy_width"):
        AuditConfig(proxy_width=5.0)
    with pytest.raises(FieldError, match="train_subset"):
        AuditConfig(train_subset=0)


def test_a_folder_that_is_no_study_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a study folder"):
        audit(tmp_path, config(tmp_path), trainer=Counting())
    with pytest.raises(UsageError, match="no such folder"):
        audit(tmp_path / "missing", config(tmp_path), trainer=Counting())


def test_an_unfinished_study_is_refused(study: Path, tmp_path: Path) -> None:
    s = optuna.load_study(study_name=study.name, storage=default_url(study))
    s.ask()  # a trial a worker is training right now
    trainer = Counting()
    with pytest.raises(SearchError, match="not finished"):
        audit(study, config(tmp_path), trainer=trainer)
    assert trainer.calls == 0
