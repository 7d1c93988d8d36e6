"""The live display of a search on stderr: units done/total, elapsed, ETA, the current leader, and what
the in-process worker is training. Numbers come from the study, so every worker's progress shows."""

from __future__ import annotations

import time
from typing import Any

import optuna
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from scalesearch.cli.output import err_console
from scalesearch.core.record import StudyRecord
from scalesearch.search import events
from scalesearch.search.config import SearchConfig
from scalesearch.search.run import progress


class RichDisplay:
    """A rich Progress bar. Use as a context manager around run_search. It appears on the first update, so
    an error raised before any work (bad storage URL, say) prints alone, on one line. Where stderr is no
    terminal (a CI log, a file) a bar would print nothing, or control codes: there it prints one plain line
    per finished proxy run instead."""

    def __init__(self, config: SearchConfig, *, disable: bool = False, refresh_seconds: float = 3.0,
                 transient: bool = False, console: Console | None = None) -> None:
        self.config = config
        self.console = console or err_console
        self.plain = not disable and not self.console.is_terminal
        self.disable = disable
        self.refresh = refresh_seconds
        self._last = 0.0
        self._doing = ""
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            TextColumn("{task.fields[best]}"), console=self.console, disable=disable or self.plain, transient=transient,
            refresh_per_second=2,
        )
        self._started = False
        self._done = 0  # finished runs already printed (plain mode)
        self._record: StudyRecord | None = None  # fixed once the study exists
        self.task = self.progress.add_task("proxy runs", total=None, best="", start=False)

    def __enter__(self) -> RichDisplay:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._started:
            self.progress.stop()

    def _start(self) -> None:
        if not self._started:
            self._started = True
            self.progress.start()

    def measuring(self, done: int, total: int) -> None:
        """Progress of plan(): building and measuring the candidates."""
        if self.plain:
            if done == total:
                self._line(f"measured {total} candidates")
            return
        self._start()
        self.progress.update(self.task, description="measuring candidates", completed=done, total=total)

    def update(self, study: optuna.Study, event: events.Event | None = None) -> None:
        if isinstance(event, events.Training):
            self._doing = f"training network {event.network} seed {event.seed}"
        elif isinstance(event, events.Epoch):
            self._doing = f"network {event.network} seed {event.seed}: epoch {event.epoch} {event.accuracy:.1%}"
        if self.plain:
            self._plain(study, event)
            return
        self._start()
        now = time.monotonic()
        if now - self._last < self.refresh and not isinstance(event, (events.TrialDone, events.Ended, events.Trained)):
            return
        self._last = now
        # Reading the study costs the workers CPU on a 2-core machine: every few seconds, the record once.
        state = self._state(study)
        lead = _best(state)
        if self._doing and not isinstance(event, events.Ended):
            lead += f" | {self._doing}"
        task = self.progress.tasks[0]
        if not task.started:
            self.progress.reset(self.task, start=True)
        self.progress.update(self.task, description=f"proxy runs ({state.running} running)",
                             completed=state.done, total=max(state.total, state.done), best=lead)

    def _state(self, study: optuna.Study) -> Any:
        if self._record is None:
            self._record = StudyRecord.read(study, study.study_name)
        return progress(study, self.config, self._record)

    def _plain(self, study: optuna.Study, event: events.Event | None) -> None:
        """A line per finished proxy run: '[12/51] network 4 seed 0: ok 94.4% | best a=1 b=1.2 g=1.15 score
        0.9188'. Spawned workers send no events: their runs are found by reading the study every few seconds."""
        now = time.monotonic()
        if not isinstance(event, events.Trained) and (event is not None or now - self._last < self.refresh):
            return
        self._last = now
        state = self._state(study)
        total = max(state.total, state.done)
        done = state.done
        if isinstance(event, events.Trained):
            # The worker stores this run just after telling us about it: the study does not count it yet.
            done = min(state.done + 1, total)
            self._line(f"[{done}/{total}] network {event.network} seed {event.seed}: {event.status} "
                       f"{event.accuracy:.1%} | {_best(state)}")
        elif done > self._done:
            more = done - self._done
            self._line(f"[{done}/{total}] {more} proxy run{'s' * (more > 1)} finished | {_best(state)}")
        self._done = done

    def _line(self, text: str) -> None:
        self.console.print(text, highlight=False, soft_wrap=True, markup=False)


def _best(state: Any) -> str:
    top = state.leader
    return (f"best a={top.candidate.alpha:g} b={top.candidate.beta:g} g={top.candidate.gamma:g} "
            f"score {top.score:.4f}" if top else "best: -")
