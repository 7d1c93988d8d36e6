"""The live display of a search on stderr: units done/total, elapsed, ETA, the current leader, and what
the in-process worker is training. Numbers come from the study, so every worker's progress shows."""

from __future__ import annotations

import time
from typing import Any

import optuna
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from scalesearch.report.console import err_console
from scalesearch.search.config import GridConfig
from scalesearch.search.run import Display, study_progress


class RichDisplay(Display):
    """A rich Progress bar. Use as a context manager around run_grid. It appears on the first update, so
    an error raised before any work (bad storage URL, say) prints alone, on one line."""

    def __init__(self, config: GridConfig, *, disable: bool = False, refresh_seconds: float = 3.0,
                 transient: bool = False) -> None:
        self.config = config
        self.refresh = refresh_seconds
        self._last = 0.0
        self._doing = ""
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            TextColumn("{task.fields[best]}"), console=err_console, disable=disable, transient=transient,
            refresh_per_second=2,
        )
        self._started = False
        self._attrs: dict[str, Any] | None = None  # the study's user attrs: fixed once it exists
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
        self._start()
        self.progress.update(self.task, description="measuring candidates", completed=done, total=total)

    def update(self, study: optuna.Study, event: dict[str, Any] | None = None) -> None:
        kind = (event or {}).get("event")
        if kind == "train":
            self._doing = f"training group {event['group']} seed {event['seed']}"  # type: ignore[index]
        elif kind == "epoch":
            self._doing = (f"group {event['group']} seed {event['seed']}: epoch {event['epoch']} "  # type: ignore[index]
                           f"{event['accuracy']:.1%}")  # type: ignore[index]
        self._start()
        now = time.monotonic()
        if now - self._last < self.refresh and kind not in ("trial", "end", "done"):
            return
        self._last = now
        # Reading the study costs the workers CPU on a 2-core machine: every few seconds, attrs once.
        if self._attrs is None:
            self._attrs = study.user_attrs
        state = study_progress(study, self.config, self._attrs)
        best = state["best"]
        lead = (f"best a={best['alpha']:g} b={best['beta']:g} g={best['gamma']:g} score {best['score']:.4f}"
                if best else "best: -")
        if self._doing and kind not in ("end",):
            lead += f" | {self._doing}"
        task = self.progress.tasks[0]
        if not task.started:
            self.progress.reset(self.task, start=True)
        self.progress.update(self.task, description=f"proxy runs ({state['running']} running)",
                             completed=state["done"], total=max(state["total"], state["done"]), best=lead)
