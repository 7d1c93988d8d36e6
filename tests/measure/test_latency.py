"""Measured latency: positive, cached per machine and setting, ordered by network size, refused cleanly."""

import dataclasses

import pytest
import torch

from scalesearch.core.baselines import baseline
from scalesearch.core.errors import UsageError
from scalesearch.measure import Cost, LatencyCache, LatencyConfig, measure, measure_latency, time_network

# One thread: on a shared 2-core machine two spinning OpenMP threads can be 100x slower than one.
QUICK = LatencyConfig(threads=1, warmup=1, repeats=5, min_repeats=3, budget_seconds=0.5)


def test_latency_is_positive_and_states_how_it_was_measured(tiny_spec):
    lat = time_network(tiny_spec, QUICK)
    assert 0 < lat.p10_ms <= lat.median_ms <= lat.p90_ms
    assert lat.threads == 1 and lat.device == "cpu" and lat.device_name and lat.torch_version == torch.__version__
    assert (lat.batch, lat.dtype, lat.mode, lat.channels_last) == (1, "fp32", "eval", True)
    assert 3 <= lat.passes <= 5 and "same machine" in lat.note


def test_threads_are_put_back(tiny_spec):
    # Fewer threads than before, never more: a count above the cores (even put back afterwards) leaves
    # torch's thread pool oversubscribed and slows every later test of the session several-fold.
    before = torch.get_num_threads()
    lat = time_network(tiny_spec, dataclasses.replace(QUICK, threads=max(1, before - 1)))
    assert lat.threads == max(1, before - 1) and torch.get_num_threads() == before


def test_train_mode_times_forward_and_backward(tiny_spec):
    lat = time_network(tiny_spec, dataclasses.replace(QUICK, mode="train", batch=2))
    assert lat.mode == "train" and lat.batch == 2 and lat.median_ms > 0


def test_second_call_hits_the_cache(tmp_path, tiny_spec, monkeypatch):
    cache = LatencyCache(tmp_path / "costs.sqlite")
    first = measure_latency(tiny_spec, QUICK, cache)
    monkeypatch.setattr("scalesearch.measure.latencycache.time_network", lambda *a: pytest.fail("timed again"))
    assert measure_latency(tiny_spec, QUICK, cache) == first
    # a new process reads it from disk; another batch size is another measurement
    assert measure_latency(tiny_spec, QUICK, LatencyCache(tmp_path / "costs.sqlite")) == first
    key = LatencyCache.key(tiny_spec.architecture_key(), QUICK, first.device_name, 1)
    assert first.device_name in key and torch.__version__ in key
    assert key != LatencyCache.key(tiny_spec.architecture_key(), dataclasses.replace(QUICK, batch=2),
                                   first.device_name, 1)


def test_measure_adds_latency_to_the_cost_and_it_round_trips(tmp_path, tiny_spec):
    cost = measure(tiny_spec, "meta", cache=tmp_path / "c.sqlite", latency=QUICK)
    assert cost.latency is not None and cost.latency.architecture == tiny_spec.architecture_key()
    assert Cost.from_dict(cost.to_dict()) == cost
    assert measure(tiny_spec, "meta", cache=tmp_path / "c.sqlite").latency is None  # counts stay latency-free


@pytest.mark.slow
def test_b0_b3_b7_in_order_on_cpu():
    # B0 < B3 < B7 differ by ~5x and ~20x in multiply-adds: a robust order even on a loaded machine.
    cfg = dataclasses.replace(QUICK, repeats=3, min_repeats=3, warmup=1)
    times = [time_network(baseline(f"efficientnet-b{i}"), cfg).median_ms for i in (0, 3, 7)]
    assert times[0] < times[1] < times[2]


@pytest.mark.parametrize(("changes", "match"), [
    ({"batch": 0}, "batch"), ({"dtype": "fp8"}, "dtype"), ({"mode": "infer"}, "mode"), ({"threads": 0}, "threads"),
    ({"repeats": 2, "min_repeats": 3}, "repeats"),
])
def test_bad_settings(changes, match):
    with pytest.raises(UsageError, match=match):
        LatencyConfig(**changes)


def test_absent_device_names_the_present_ones(tiny_spec):
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(UsageError, match="devices here: cpu"):
        time_network(tiny_spec, LatencyConfig(device="cuda"))
    with pytest.raises(UsageError, match="fp16 needs an accelerator"):
        time_network(tiny_spec, LatencyConfig(dtype="fp16"))


def test_more_threads_than_cores_are_refused_before_anything(tiny_spec, monkeypatch):
    from scalesearch.core.errors import FieldError
    from scalesearch.measure import latency

    monkeypatch.setattr(latency, "build", lambda *a, **k: pytest.fail("built a network"))
    cores = latency.available_cores()
    with pytest.raises(FieldError, match=f"threads {cores + 1}: more than the {cores} core"):
        time_network(tiny_spec, dataclasses.replace(QUICK, threads=cores + 1))
    with pytest.raises(FieldError, match="threads 1000"):
        latency.where(LatencyConfig(threads=1000))


@pytest.mark.parametrize(("batch", "mode", "match"), [
    (10**12, "eval", r"batch 1,000,000,000,000\)"), (10**6, "train", r"batch 1,000,000 x 3 kept for the backward"),
])
def test_a_batch_beyond_the_memory_limit_is_refused_before_anything(batch, mode, match, monkeypatch):
    from scalesearch.core.errors import SpecError
    from scalesearch.measure import latency

    monkeypatch.setattr(latency, "build", lambda *a, **k: pytest.fail("built a network"))
    monkeypatch.setattr(latency.torch, "randn", lambda *a, **k: pytest.fail("allocated an input"))
    config = dataclasses.replace(QUICK, batch=batch, mode=mode)
    with pytest.raises(SpecError, match=f"too big to time in memory: .*{match}"):
        time_network(baseline("efficientnet-b0"), config)
    with pytest.raises(SpecError, match="SCALESEARCH_MAX_ACTIVATIONS"):
        measure_latency(baseline("efficientnet-b0"), config, cache=False)
