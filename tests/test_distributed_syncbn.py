"""BatchNormalization(synchronized=True): the global batch's statistics across ranks, in float64.

In one process: the synchronized kernels with the identity reduce equal the plain ones, the layer with
synchronized=True equals synchronized=False exactly, and ranks simulated by threads (a summing
barrier as the reduce, unequal and empty shares) give the single-batch y, dx (torch autograd of
F.batch_norm over the whole batch, and central differences), moving statistics and summed
dgamma / dbeta. On 2 and 3 real gloo processes (tests/distributed/syncbn_worker.py): a Dense and a
Conv2D model fitted with batch 7 (unequal shares) end with the single-process weights, moving
statistics and History on every rank; the layer called by hand on empty shares joins with zeros;
and, unsynchronized, each rank's moving statistics differ from one process's.
"""

import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_distribution_primitives import launch_reports, single_process_reference  # noqa: E402  (tests/ is on sys.path)

import kerasette as ks
from kerasette import norm_kernels as k
from kerasette.distribution import Strategy, share

WORKERS = Path(__file__).resolve().parent / "distributed"
sys.path.insert(0, str(WORKERS))
EPS = 1e-3


def randn(g, *shape, scale=1.0, shift=0.0):
    return torch.randn(shape, generator=g, dtype=torch.float64) * scale + shift


def identity(t):
    return t


class ThreadRanks:
    """`size` threads as ranks: `reduce(t)` sums t over them in place (rank order, the same result
    on every rank) at a barrier, as an all_reduce would."""

    def __init__(self, size):
        self.size = size
        self.barrier = threading.Barrier(size)
        self.slots = [None] * size

    def run(self, fn, args_per_rank):
        results, errors = [None] * self.size, []

        def body(rank):
            def reduce(t):
                self.slots[rank] = t.clone()
                self.barrier.wait()
                total = sum(self.slots[1:], self.slots[0].clone())
                self.barrier.wait()
                t.copy_(total)
                return t
            try:
                results[rank] = fn(reduce, *args_per_rank[rank])
            except BaseException as error:  # noqa: BLE001 (reported below)
                errors.append(error)
                self.barrier.abort()
        threads = [threading.Thread(target=body, args=(r,)) for r in range(self.size)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return results


def sync_step(reduce, x, dy, gamma, beta):
    y, mean, var, rstd, M = k.synced_batch_norm_forward(x, gamma, beta, EPS, reduce)
    dx, dgamma, dbeta = k.synced_batch_norm_backward(dy, x, mean, rstd, M, gamma, reduce)
    return y, dx, dgamma, dbeta, mean, var


def split(t, bounds):
    return [t[lo:hi] for lo, hi in bounds]


# ---- one process -----------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [True, False])
def test_synced_kernels_with_the_identity_reduce_equal_the_plain_kernels(scale):
    g = torch.Generator().manual_seed(0)
    x, dy = randn(g, 9, 4, scale=3.0, shift=2.0), randn(g, 9, 4)
    gamma = randn(g, 4) if scale else None
    beta = randn(g, 4)
    y, mean, var, rstd, M = k.synced_batch_norm_forward(x, gamma, beta, EPS, identity)
    ref = k.batch_norm_forward_readable(x, gamma, beta, EPS)
    for got, want in zip((y, mean, var, rstd), ref):
        torch.testing.assert_close(got, want, rtol=1e-14, atol=1e-14)
    assert float(M) == 9
    got = k.synced_batch_norm_backward(dy, x, mean, rstd, M, gamma, identity)
    want = k.batch_norm_backward_readable(dy, x, mean, rstd, gamma)
    for a, b in zip(got, want):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-13)


def test_synchronized_alone_equals_unsynchronized_exactly(float64):
    g = torch.Generator().manual_seed(1)
    x4, dy4 = randn(g, 6, 3, 3, 2, scale=2.0, shift=1.0), randn(g, 6, 3, 3, 2)
    results = []
    for synchronized in (False, True):
        layer = ks.layers.BatchNormalization(axis=1, momentum=0.7, synchronized=synchronized)
        layer.build((None, 3, 3, 2))
        layer.gamma.assign(torch.linspace(0.5, 2.0, 3, dtype=torch.float64))
        with share.global_batch(0, 6, 6):  # a step in one process: no strategy, no reduce
            y, backward = layer.forward(x4, training=True)
            dx = backward(dy4)
        results.append([y, dx, layer.gamma.grad, layer.beta.grad, layer.moving_mean.value,
                        layer.moving_variance.value])
        assert layer.get_config()["synchronized"] is synchronized
    for a, b in zip(*results):
        assert torch.equal(a, b)


@pytest.mark.parametrize("sizes", [(4, 3), (3, 2, 2), (1, 0, 5), (0, 2)])
def test_ranks_share_the_global_batch_statistics_and_gradient(sizes):
    """Threads as ranks with unequal (and empty) shares: y, dx, mean, var are the global batch's
    (autograd of F.batch_norm over all rows); dgamma, dbeta summed over ranks are the global ones."""
    g = torch.Generator().manual_seed(sum(sizes))
    n = sum(sizes)
    x, dy = randn(g, n, 3, scale=2.0, shift=-1.0), randn(g, n, 3)
    gamma, beta = randn(g, 3), randn(g, 3)
    bounds = [(sum(sizes[:r]), sum(sizes[:r + 1])) for r in range(len(sizes))]
    out = ThreadRanks(len(sizes)).run(
        sync_step, [(xs, ds, gamma, beta) for xs, ds in zip(split(x, bounds), split(dy, bounds))])
    leaves = [t.clone().requires_grad_() for t in (x, gamma, beta)]
    y_ref = F.batch_norm(leaves[0], None, None, leaves[1], leaves[2], True, 0.0, EPS)
    y_ref.backward(dy)
    var_ref, mean_ref = torch.var_mean(x, 0, unbiased=False)
    torch.testing.assert_close(torch.cat([o[0] for o in out]), y_ref.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(torch.cat([o[1] for o in out]), leaves[0].grad, rtol=1e-11, atol=1e-12)
    torch.testing.assert_close(sum(o[2] for o in out), leaves[1].grad, rtol=1e-11, atol=1e-12)
    torch.testing.assert_close(sum(o[3] for o in out), leaves[2].grad, rtol=1e-11, atol=1e-12)
    for o in out:  # every rank, the empty one too, holds the same global statistics
        assert torch.equal(o[4], out[0][4]) and torch.equal(o[5], out[0][5])
        torch.testing.assert_close(o[4], mean_ref, rtol=1e-13, atol=1e-13)
        torch.testing.assert_close(o[5], var_ref, rtol=1e-13, atol=1e-13)


def test_ranks_gradient_equals_central_differences():
    """dx of every rank's rows against central differences of L = sum(r * y) over all ranks."""
    g = torch.Generator().manual_seed(3)
    sizes = (3, 2, 0)
    n = sum(sizes)
    x, r = randn(g, n, 2, scale=2.0), randn(g, n, 2)
    gamma, beta = randn(g, 2), randn(g, 2)
    bounds = [(sum(sizes[:i]), sum(sizes[:i + 1])) for i in range(len(sizes))]
    ranks = ThreadRanks(len(sizes))

    def loss(xv):
        out = ranks.run(sync_step, [(xs, rs, gamma, beta)
                                    for xs, rs in zip(split(xv, bounds), split(r, bounds))])
        return float((torch.cat([o[0] for o in out]) * r).sum()), torch.cat([o[1] for o in out])

    _, dx = loss(x)
    h = 1e-6
    numeric = torch.zeros_like(x)
    for i in range(n):
        for j in range(2):
            e = torch.zeros_like(x)
            e[i, j] = h
            numeric[i, j] = (loss(x + e)[0] - loss(x - e)[0]) / (2 * h)
    torch.testing.assert_close(dx, numeric, rtol=1e-6, atol=1e-8)


def test_synchronized_is_validated_and_serialised():
    with pytest.raises(TypeError, match="synchronized.*bool.*'yes'"):
        ks.layers.BatchNormalization(synchronized="yes")
    layer = ks.layers.BatchNormalization(synchronized=True)
    assert ks.layers.BatchNormalization.from_config(layer.get_config()).synchronized is True


def test_all_reduce_sum_checks_its_tensor():
    s = Strategy(0, 1, "cpu")
    t = torch.ones(3)
    assert s.all_reduce_sum(t) is t and torch.equal(t, torch.ones(3))  # one rank: unchanged
    with pytest.raises(TypeError, match="tensor for all_reduce_sum.*torch.Tensor"):
        s.all_reduce_sum([1.0])
    with pytest.raises(ValueError, match="contiguous numeric.*bool"):
        s.all_reduce_sum(torch.ones(2, dtype=torch.bool))
    with pytest.raises(ValueError, match="contiguous numeric.*strided"):
        s.all_reduce_sum(torch.ones(3, 2).t())


def test_share_arguments_are_checked():
    with pytest.raises(TypeError, match="empty_shares_run.*bool"):
        with share.global_batch(0, 1, 1, empty_shares_run=1):
            pass
    with pytest.raises(TypeError, match="enabled.*bool"):
        share.run_empty_shares("yes")
    assert share.step_strategy() is None
    assert share.needs_every_rank([ks.layers.BatchNormalization(synchronized=True)])
    assert not share.needs_every_rank([ks.layers.BatchNormalization(), ks.layers.Dense(2)])


# ---- real gloo processes ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference():
    return single_process_reference("syncbn_worker")


def close(got, want, what):
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float),
                               rtol=1e-10, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("world", [2, 3])
def test_synchronized_fit_on_ranks_equals_one_process(tmp_path, reference, world):
    reports = launch_reports("syncbn_worker.py", world, tmp_path, limit=120)
    for rank, report in enumerate(reports):
        for name in ("dense", "conv", "tiny batches"):
            got, ref = report[name], reference[name]
            assert set(got["history"]) == set(ref["history"])
            for key, values in ref["history"].items():
                close(got["history"][key], values, f"rank {rank}, {name}, {key}")
            for i, (w_got, w_ref) in enumerate(zip(got["weights"], ref["weights"])):
                close(w_got, w_ref, f"rank {rank}, {name}, weight {i}")
            close(got["moving"], ref["moving"], f"rank {rank}, {name}, moving statistics")
        # The layer by hand, empty shares included: this rank's rows of y and dx are the global
        # batch's, the moving statistics are the global ones, dgamma / dbeta sum to one process's.
        for step, ref in enumerate(reference["layer"]):
            n = len(ref["y"])
            lo = sum(len(r["layer"][step]["y"]) for r in reports[:rank])
            mine = report["layer"][step]
            assert len(mine["y"]) == len(np.array_split(np.arange(n), world)[rank])
            if mine["y"]:
                close(mine["y"], ref["y"][lo:lo + len(mine["y"])], f"rank {rank} y, step {step}")
                close(mine["dx"], ref["dx"][lo:lo + len(mine["dx"])], f"rank {rank} dx, step {step}")
            close(mine["moving"], ref["moving"], f"rank {rank} moving statistics, step {step}")
    for step, ref in enumerate(reference["layer"]):
        for key in ("dgamma", "dbeta"):
            close(np.sum([r["layer"][step][key] for r in reports], axis=0), ref[key], key)
    # Without the trainer's promise to run empty shares, the rank holding the only row refuses.
    refusals = [r["refused"] for r in reports if r["refused"] is not None]
    assert len(refusals) == 1 and "does not run empty shares" in refusals[0]
    # Unsynchronized: the weights stay identical on every rank (summed gradients), but each rank's
    # moving statistics follow its own shares: they differ from one process's and between ranks.
    moving = [np.asarray(r["unsynchronized"]["moving"]) for r in reports]
    ref_moving = np.asarray(reference["unsynchronized"]["moving"])
    assert all(np.abs(m - ref_moving).max() > 1e-3 for m in moving)
    assert np.abs(moving[0] - moving[1]).max() > 1e-3
    for r in reports[1:]:
        close(r["unsynchronized"]["weights"][0], reports[0]["unsynchronized"]["weights"][0],
              "unsynchronized kernel, rank vs rank 0")
