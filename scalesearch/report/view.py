"""What the report draws, gathered once from the study: the ranked frame (the one ranking, as trials.csv
has it), the noise verdict, the leaders and every trained network's per-epoch validation accuracy."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from scalesearch.core import decision, ranking
from scalesearch.core.errors import SearchError
from scalesearch.core.evidence import Evidence, partial
from scalesearch.core.record import StudyRecord
from scalesearch.core.redaction import redact_command
from scalesearch.report.table import frame, ranked_study
from scalesearch.train.load import source_classes

LEADERS = 5  # leaders highlighted in the plots when best.json names none


@dataclass(frozen=True)
class Curve:
    """One seed's per-epoch validation accuracy (fractions) of one trained network at one rung."""

    network: int
    seed: int
    history: tuple[float, ...]
    rung: int = 0
    epochs: tuple[int, ...] = ()  # the epoch of each history entry; () when every epoch was evaluated

    @property
    def points(self) -> tuple[tuple[int, ...], tuple[float, ...]]:
        """(epochs, accuracies) to plot."""
        return (self.epochs or tuple(range(1, len(self.history) + 1))), self.history


@dataclass(frozen=True)
class AuditSummary:
    """What the report shows of audit.json (scalesearch.audit.AuditRecord, a layer above, writes it): the
    verdict lines and the headline, the one line beside the rungs' own evidence."""

    lines: tuple[str, ...]
    headline: str

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AuditSummary:
        lines = d.get("lines")
        lines = tuple(str(x) for x in lines) if isinstance(lines, list) else ()
        headline = d.get("headline")
        return cls(lines, headline if isinstance(headline, str) and headline else (lines[0] if lines else ""))


@dataclass(frozen=True)
class StudyView:
    name: str
    record: StudyRecord
    table: pd.DataFrame  # the ranked frame (trials.csv's rows), best first
    noise: ranking.NoiseVerdict
    curves: tuple[Curve, ...]
    leaders: tuple[int, ...]  # candidate indexes, best first
    running: int  # trials still RUNNING (a live search, or one killed without its grace period over)
    best: dict[str, Any] = field(default_factory=dict)  # best.json, when the study folder has one
    evidence: Evidence | None = None  # rungs, leaders set, references (scalesearch.core.evidence)
    interrupted: bool = False  # the caller knows the search was stopped (grid after Ctrl-C)
    audit: AuditSummary | None = None  # audit.json's verdict, when the study folder has one

    @property
    def recommended_point(self) -> tuple[float, float, float] | None:
        """The point `scale --from` takes: the survivors' point confirmed at phi (best.json's ``confirmed``), else
        the race's recommendation (winner, cheapest equivalent, best undecided), else the rank-1 row."""
        confirmed = self.best.get("confirmed") if self.best else None
        if isinstance(confirmed, dict) and isinstance(confirmed.get("best"), dict):
            b = confirmed["best"]
            return float(b["alpha"]), float(b["beta"]), float(b["gamma"])
        if self.evidence is not None and (row := self.evidence.recommended) is not None:
            c = row.candidate
            return c.alpha, c.beta, c.gamma
        top = self.table[self.table["rank"] == 1]
        if not len(top):
            return None
        r = top.iloc[0]
        return float(r["alpha"]), float(r["beta"]), float(r["gamma"])

    @property
    def audit_lines(self) -> list[str]:
        """The verdict lines `scalesearch audit` wrote ([] without an audit)."""
        return list(self.audit.lines) if self.audit is not None else []

    @property
    def finished(self) -> bool:
        stopped = self.interrupted or (bool(self.record.invocations) and self.record.invocations[-1].interrupted)
        return self.running == 0 and not stopped

    @property
    def unfinished(self) -> str:
        """Why the search is not finished, for the page and the notes ('' when it is)."""
        if self.finished:
            return ""
        why = [f"{self.running} trial(s) still running (or left by a killed worker)"] if self.running else []
        return "the search is not finished (" + ("; ".join(why) or "it was interrupted") + \
            "): this is what is done so far"

    @property
    def leader_networks(self) -> list[int]:
        """The leaders' trained networks, best first (candidates sharing a network share its curves)."""
        network = {c.index: c.network for c in self.record.candidates}
        return list(dict.fromkeys(network[i] for i in self.leaders))

    @property
    def data_line(self) -> str:
        """What the proxies trained on: the source, its class names when the source fixes them, the subsets, and
        the seed base when not 0."""
        settings = self.record.study_settings
        proxy = settings.proxy
        text = f"Data: {settings.data}"
        names = source_classes(settings.data)
        if names:
            text += f" ({len(names)} classes: {', '.join(names)})"
        train, val = proxy.get("train_subset"), proxy.get("val_subset")
        parts = [f"{n:,} {what}" for n, what in ((train, "training images per run, drawn by each seed"),
                                                   (val, "validation images, one fixed stratified choice"))
                 if isinstance(n, int)]
        if settings.seed_base:  # stored only when not 0: a study rerun on fresh seeds says so
            parts.append(f"seeds {settings.seed_base:,} + index (--seed-base {settings.seed_base})")
        return text + ("; " + "; ".join(parts) if parts else "") + "."

    @property
    def command(self) -> str:
        """The command that reproduces the study: the one best.json recorded (any password in it masked: an
        earlier version recorded it as typed), else rebuilt from the settings."""
        return redact_command(str(self.best.get("command") or rebuild_command(self.record.settings)))


def view(study: Any, best: dict[str, Any] | None = None) -> StudyView:
    """Read ``study`` (an Optuna Study). SearchError when no proxy run has finished: nothing to draw yet."""
    name = str(getattr(study, "study_name", ""))
    record, rows, by_rung = ranked_study(study)  # refuses other tools' and older formats' studies in one line
    if not any(r.summary.ok for r in rows):
        raise SearchError(f"study {name!r} has no finished proxy run yet: rerun `scalesearch grid` with the same "
                          "settings to train it, then `scalesearch report`")
    trials = study.get_trials(deepcopy=False)
    curves = []
    for rung, per_network in sorted(by_rung.items()):
        for network, runs in sorted(per_network.items()):
            for seed, run in sorted(ranking.per_seed(runs).items()):
                if run.result.history:
                    curves.append(Curve(network, seed, tuple(float(a) for a in run.result.history), rung,
                                        run.result.history_epochs))
    running = sum(1 for t in trials if t.state.name == "RUNNING")
    table = frame(rows)
    table.insert(1, "index", [r.candidate.index for r in rows])  # for the plots only, never written
    best = best or {}
    proof = decision.evidence(record, rows, by_rung) if ranking.leader(rows) is not None else None
    return StudyView(name, record, table, ranking.noise_verdict(rows, partial(record, by_rung)), tuple(curves),
                     _leaders(record, rows, best), running, best, proof)


def _leaders(record: StudyRecord, rows: list[ranking.Row], best: dict[str, Any]) -> tuple[int, ...]:
    """best.json's ``leaders`` when it has them (triples), else the top LEADERS ranked candidates."""
    named = best.get("leaders")
    if isinstance(named, dict):  # best.json: {"rung", "members": [...], "rule", ...}
        named = named.get("members")
    if isinstance(named, list) and named:
        out = []
        for item in named:
            try:
                c = record.candidate_at((item["alpha"], item["beta"], item["gamma"]))
            except (KeyError, TypeError):
                c = None
            if c is not None:
                out.append(c.index)
        if out:
            return tuple(out)
    return tuple(r.candidate.index for r in rows if r.ranks)[:LEADERS]


# Flags of `scalesearch grid` for each stored setting (only the ones a user sets; the rest are defaults).
_FLAGS = {"baseline": "--baseline", "policy": "--policy", "alpha": "--alpha", "beta": "--beta", "gamma": "--gamma",
          "tolerance": "--tolerance", "constraint": "--constraint", "data": "--data", "rungs": "--rungs",
          "promote": "--promote", "references": "--references", "sampler": "--sampler", "pruner": "--pruner",
          "seed_base": "--seed-base", "target_flops": "--target-flops", "w": "--w"}
_PROXY_FLAGS = {"epochs": "--epochs", "batch_size": "--batch-size", "base_resolution": "--base-resolution",
                "proxy_width": "--proxy-width", "train_subset": "--train-subset", "val_subset": "--val-subset",
                "optimizer": "--optimizer",
                "lr": "--lr"}


def rebuild_command(settings: dict[str, Any]) -> str:
    """`scalesearch grid` with every stored setting that has a flag: the same settings give the same study."""
    parts = ["scalesearch", "grid"]
    items = [(_FLAGS[k], v) for k, v in settings.items() if k in _FLAGS]
    items += [(_PROXY_FLAGS[k], v) for k, v in dict(settings.get("proxy") or {}).items() if k in _PROXY_FLAGS]
    race = settings.get("race")  # stored only when not the default race
    if isinstance(race, dict):
        if race.get("enabled") is False:
            items.append(("--no-race", True))
        else:
            items += [("--race-budget", race.get("budget")), ("--equivalence", race.get("equivalence"))]
    for flag, value in items:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if value is True and flag == "--no-race":
            parts.append(flag)
            continue
        if flag == "--rungs":
            value = ",".join(f"{e}x{s}" for e, s in value)
        elif flag == "--references":
            value = ",".join(value) or "none"
        parts += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return " ".join(parts)
