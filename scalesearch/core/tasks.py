"""Search settings measured for a data source, used when ``--data`` names it and the user sets none of them.

The default task (digits-300) has its settings in scalesearch.core.settings. A real dataset of tens of
thousands of images cannot be searched on a CPU with every image and the default task's epochs: for such
a source the search trains on a fixed-size subset, validates on a fixed stratified subset and runs rungs
sized so that the whole search fits in half an hour on 2 cores, with a final-rung spread several times its
seed noise. How each was chosen, with the numbers, is in docs/training.md ('On real data'). Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskDefaults:
    """Search settings for one data source. ``train_subset`` / ``val_subset``: images per run (None: all);
    ``rungs``: epochs x seeds per rung; ``promote``: the fraction moved up each rung; ``curve_points``:
    validations per run (None: the general default; a runtime setting, not part of the study)."""

    train_subset: int | None
    val_subset: int | None
    rungs: tuple[tuple[int, int], ...]
    promote: float
    curve_points: int | None = None

    def flags(self) -> str:
        """The command-line form, as the grid prints it when it applies them."""
        parts = []
        if self.train_subset is not None:
            parts.append(f"--train-subset {self.train_subset}")
        if self.val_subset is not None:
            parts.append(f"--val-subset {self.val_subset}")
        parts.append("--rungs " + ",".join(f"{e}x{s}" for e, s in self.rungs))
        parts.append(f"--promote {self.promote:g}")
        if self.curve_points is not None:
            parts.append(f"--curve-points {self.curve_points}")
        return " ".join(parts)


# Fashion-MNIST on a 2-core CPU (docs/training.md, 'On real data'); MNIST-format folders share its shape
# (60,000 / 10,000 images of 28x28) and so its costs. Issue 19 chose 2,000 images and rungs 3x2,6x2 (a 32-minute
# search). Issue 20 needs the search and its race in 15 minutes with a decision: 1,000 training images, a
# longer last rung (8 epochs) for a third of the networks (and the reference strategies), validated once per
# run on 5,000 fixed images: the last rung's paired noise fell from 2.2 points (5 epochs, 1,000 validation
# images) to 0.7, and 4 leaders are shown equivalent after one race round.
MNIST_FORMAT = TaskDefaults(train_subset=1000, val_subset=5000, rungs=((3, 2), (8, 2)), promote=0.33, curve_points=1)

_DEFAULTS: dict[str, TaskDefaults] = {"fashion-mnist": MNIST_FORMAT, "mnist": MNIST_FORMAT}


def task_defaults(data: str) -> TaskDefaults | None:
    """The measured settings of data source ``data`` (``kind`` or ``kind:ARGUMENT``), or None for a source
    that has none (the general defaults apply)."""
    return _DEFAULTS.get(data.strip().partition(":")[0].lower())


def sources_with_defaults() -> tuple[str, ...]:
    return tuple(_DEFAULTS)
