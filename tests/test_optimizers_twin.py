"""The flat step and its readable per-weight twin (`step_per_weight`) give bit-identical results:
100 steps on random gradients in float64, for every rule, clipping kind, weight decay and schedule.

They use the same elementwise operations, so equality is exact (torch.equal, no tolerance); the
per-weight norms of clipnorm use `_foreach_norm` on the flat side and `linalg.vector_norm` per
weight on the twin side, which are the same computation on CPU (on a GPU, `_foreach_norm` has its
own kernel and the two may differ in the last bits).
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_optimizers_helpers import CLIPS, SHAPES, SPECS, gradient_stream, make_weights, spec_id

import kerasette as ks

STEPS = 100


def make_opt(spec, **extra):
    name, kw = spec
    return ks.optimizers.get({"class_name": name, "config": {**kw, **extra}})


def run_both(spec, extra, shapes=SHAPES, steps=STEPS):
    flat_ws, twin_ws = make_weights(shapes=shapes), make_weights(shapes=shapes)
    flat, twin = make_opt(spec, **extra), make_opt(spec, **extra)
    flat.build(flat_ws)
    twin.build(twin_ws)
    grads = gradient_stream(shapes)
    for _ in range(steps):
        g = next(grads)
        for ws in (flat_ws, twin_ws):
            for w, gi in zip([w for w in ws if w.trainable], g):
                w.grad.copy_(gi)
        flat.step()
        twin.step_per_weight()
    return flat, twin, flat_ws, twin_ws


def assert_identical(flat, twin, flat_ws, twin_ws):
    for a, b in zip(flat_ws, twin_ws):
        assert torch.equal(a.value, b.value), a.name
    assert flat.get_state()["slots"].keys() == twin.get_state()["slots"].keys()
    for k, s in flat.get_state()["slots"].items():
        assert torch.equal(s, twin.get_state()["slots"][k]), k
    assert flat.iterations == twin.iterations == STEPS


@pytest.mark.parametrize("clip", CLIPS, ids=lambda c: next(iter(c), "no-clip"))
@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_flat_equals_twin(spec, clip):
    assert_identical(*run_both(spec, dict(clip)))


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_flat_equals_twin_with_decay_and_schedule(spec):
    sched = ks.optimizers.schedules.CosineDecay(spec[1]["learning_rate"], 60, alpha=0.1,
                                                warmup_target=2 * spec[1]["learning_rate"],
                                                warmup_steps=10)
    assert_identical(*run_both(spec, {"weight_decay": 0.02, "learning_rate": sched,
                                      "clipnorm": 1.5}))


def test_twin_moves_weights():
    """Both paths really train: after 100 steps the weights are far from their start."""
    _, _, _, twin_ws = run_both(("adam", {"learning_rate": 0.01}), {})
    start = make_weights()
    assert all((a.value - b.value).abs().max() > 1e-3
               for a, b in zip(twin_ws, start) if a.trainable)


@settings(max_examples=25, deadline=None)
@given(shapes=st.lists(st.lists(st.integers(1, 40), min_size=0, max_size=3).map(tuple),
                       min_size=1, max_size=6),
       which=st.integers(0, len(SPECS) - 1), clip=st.integers(0, len(CLIPS) - 1))
def test_flat_equals_twin_any_shapes(shapes, which, clip):
    flat, twin, flat_ws, twin_ws = run_both(SPECS[which], dict(CLIPS[clip]), shapes=shapes,
                                            steps=10)
    for a, b in zip(flat_ws, twin_ws):
        assert torch.equal(a.value, b.value)


def test_paths_can_be_mixed():
    """The twin works on the flat state: alternating the two paths equals either one alone."""
    spec = ("adam", {"learning_rate": 0.01, "amsgrad": True})
    mixed_ws, flat_ws = make_weights(), make_weights()
    mixed, flat = make_opt(spec), make_opt(spec)
    mixed.build(mixed_ws)
    flat.build(flat_ws)
    grads = gradient_stream(SHAPES)
    for i in range(20):
        g = next(grads)
        for ws in (mixed_ws, flat_ws):
            for w, gi in zip([w for w in ws if w.trainable], g):
                w.grad.copy_(gi)
        mixed.step() if i % 2 else mixed.step_per_weight()
        flat.step()
    for a, b in zip(mixed_ws, flat_ws):
        assert torch.equal(a.value, b.value)


@pytest.mark.parametrize("spec, attr, value", [
    (("sgd", {"learning_rate": 0.1, "momentum": 0.9}), "momentum", 0.5),
    (("rmsprop", {"learning_rate": 0.01, "momentum": 0.5}), "epsilon", 0.1),
    (("adam", {"learning_rate": 0.01}), "epsilon", 0.1),
], ids=["sgd-momentum", "rmsprop-epsilon", "adam-epsilon"])
def test_changing_a_hyperparameter_after_build_reaches_the_flat_path(spec, attr, value):
    """The flat path keeps some hyperparameters as 0-d tensors; setting one refreshes them."""
    runs = []
    for change in (True, False):
        flat, twin, flat_ws, twin_ws = run_both(spec, {}, steps=5)
        if change:
            setattr(flat, attr, value)
            setattr(twin, attr, value)
        grads = gradient_stream(SHAPES, seed=7)
        for _ in range(5):
            g = next(grads)
            for ws in (flat_ws, twin_ws):
                for w, gi in zip([w for w in ws if w.trainable], g):
                    w.grad.copy_(gi)
            flat.step()
            twin.step_per_weight()
        for a, b in zip(flat_ws, twin_ws):
            assert torch.equal(a.value, b.value)
        runs.append(flat_ws[0].value.clone())
    assert not torch.equal(runs[0], runs[1])
