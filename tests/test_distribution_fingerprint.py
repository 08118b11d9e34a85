"""`step.fingerprint`: one number per global batch, compared across ranks in the step's all-reduce."""

import torch

from kerasette.distribution.step import fingerprint


def differ(fs) -> bool:
    """StepSync's test after the sum over ranks: W * sum(f^2) - sum(f)^2 > 1e-4 * W * sum(f^2)."""
    w, total, squares = len(fs), sum(fs), sum(f * f for f in fs)
    return w * squares - total * total > 1e-4 * w * squares


def test_the_same_batch_gives_the_same_number():
    x = torch.rand(32, 28, 28)
    assert float(fingerprint(x)) == float(fingerprint(x.clone()))
    assert not differ([float(fingerprint(x))] * 3)


def test_different_batches_of_positive_data_are_told_apart():
    # Pixels in [0, 1]: plain sums of two batches differ by well under 1%; signed sums do not.
    g = torch.Generator().manual_seed(0)
    batches = [torch.rand(64, 784, generator=g) for _ in range(20)]
    sums = [float(b.sum()) for b in batches]
    assert not differ(sums[:2])  # why a plain sum would not do
    fs = [float(fingerprint(b)) for b in batches]
    assert all(differ([fs[i], fs[j]]) for i in range(20) for j in range(i))
    assert differ([fs[0], fs[0], fs[1]])  # one rank out of three differs


def test_integer_and_several_inputs():
    ids = torch.randint(0, 100, (16, 5))
    assert fingerprint(ids).dtype == torch.float64
    assert float(fingerprint((ids, torch.rand(16, 3)))) == float(fingerprint(ids))
    assert differ([float(fingerprint(ids)), float(fingerprint(ids.flip(0)))])
