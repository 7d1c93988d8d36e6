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
    ``rungs``: epochs x seeds per rung; ``promote``: the fraction moved up each rung."""

    train_subset: int | None
    val_subset: int | None
    rungs: tuple[tuple[int, int], ...]
    promote: float

    def flags(self) -> str:
        """The command-line form, as the grid prints it when it applies them."""
        parts = []
        if self.train_subset is not None:
            parts.append(f"--train-subset {self.train_subset}")
        if self.val_subset is not None:
            parts.append(f"--val-subset {self.val_subset}")
        parts.append("--rungs " + ",".join(f"{e}x{s}" for e, s in self.rungs))
        parts.append(f"--promote {self.promote:g}")
        return " ".join(parts)


# Fashion-MNIST on a 2-core CPU (docs/training.md, 'On real data'); MNIST-format folders share its shape
# (60,000 / 10,000 images of 28x28) and so its costs. Issue 19 chose 2,000 images and rungs 3x2,6x2 (a 32-minute
# search); the race after the last rung (issue 20) and a 15-minute search take half the images and a 5-epoch
# last rung (a proxy run of 1,000 images: 9.2 s at 3 epochs, 14 s at 5, with two workers on 2 cores).
MNIST_FORMAT = TaskDefaults(train_subset=1000, val_subset=1000, rungs=((3, 2), (5, 2)), promote=0.5)

_DEFAULTS: dict[str, TaskDefaults] = {"fashion-mnist": MNIST_FORMAT, "mnist": MNIST_FORMAT}


def task_defaults(data: str) -> TaskDefaults | None:
    """The measured settings of data source ``data`` (``kind`` or ``kind:ARGUMENT``), or None for a source
    that has none (the general defaults apply)."""
    return _DEFAULTS.get(data.strip().partition(":")[0].lower())


def sources_with_defaults() -> tuple[str, ...]:
    return tuple(_DEFAULTS)
