"""``load_data(source)``: read a data source named by one string everywhere (``--data``), once per process.

A source is ``kind`` or ``kind:ARGUMENT`` (``digits``, ``cifar10:DIR``); the kinds are the sources registered
in scalesearch.train.sources (what each reads, and its base proxy resolution, is documented there and in
docs/training.md, 'Data'). This module looks the kind up in the registry of scalesearch.train.datasets.
"""

from __future__ import annotations

import functools

# Importing the built-in sources registers them; this module is the only place that needs them all.
import scalesearch.train.sources  # noqa: F401  # (registration order is the order of listings)

import scalesearch.train.mnist  # noqa: F401  # isort: skip
from scalesearch.core.errors import DataError
from scalesearch.core.settings import DEFAULT_DATA  # the study settings' default
from scalesearch.train.datasets import Dataset, find_source, registered_sources


def source_forms() -> str:
    """The accepted forms, for messages: ``digits (the default), synthetic, ... or imagefolder:DIR``."""
    forms = [s.form + (" (the default)" if s.kind == DEFAULT_DATA else "") for s in registered_sources()]
    return ", ".join(forms[:-1]) + f" or {forms[-1]}" if len(forms) > 1 else "".join(forms)


def source_classes(source: str) -> tuple[str, ...] | None:
    """The class names of data source ``source`` when the source fixes them (``fashion-mnist``), without reading
    any image; None for a source whose classes come from its files."""
    found = find_source(source.strip().partition(":")[0]) if isinstance(source, str) else None
    return found.classes if found is not None else None


def load_data(source: str, *, seed: int = 0, cache_size: int | None = None) -> Dataset:
    """Load a data source by name. Cached: each (source, seed, cache_size) is read once per process, because
    the search asks for it for every candidate. ``seed`` only moves sources with a seeded split."""
    if not isinstance(source, str) or not source.strip():
        raise DataError(f"empty data source: use {source_forms()}")
    if cache_size is not None and (isinstance(cache_size, bool) or not isinstance(cache_size, int)
                                   or cache_size < 8):
        raise DataError(f"cache size {cache_size!r}: must be an integer number of pixels >= 8")
    return _load(source.strip(), seed, cache_size)


@functools.lru_cache(maxsize=4)
def _load(source: str, seed: int, cache_size: int | None) -> Dataset:
    kind, _, argument = source.partition(":")
    found = find_source(kind)
    if found is None:
        raise DataError(f"unknown data source {source!r}: use {source_forms()}")
    if found.argument is None and argument:
        raise DataError(f"data source {source!r}: {found.kind} takes no argument")
    if found.argument is not None and not argument:
        raise DataError(f"data source {source!r}: name its {found.argument}, as in {found.form}")
    return found.load(argument, seed=seed, cache_size=cache_size)
