"""`evaluate`, `predict` and fit's validation on 2 and 3 real gloo processes (127.0.0.1), sharded:
every rank returns one process's result (float64, to 1e-10; predictions to 1e-12), having run its
share of each batch only.

The worker (tests/distributed/eval_worker.py) covers equal and unequal shares, empty shares (batch
sizes 1 and 2 on 3 ranks), sample weights, weight and activity penalties, plain and weighted metrics,
batch logs read by a callback (per-batch sums), a two-input two-output functional model (dicts),
NumPy / tensor / list / dict inputs, a DataLoader, a generator, a PyDataset and a Dataset, and a fit
whose validation is sharded. A counting layer gives the rows each rank ran.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from test_distribution_primitives import launch_reports, single_process_reference  # noqa: E402  (tests/ is on sys.path)

from kerasette.distribution import shard_sizes

WORKERS = Path(__file__).resolve().parent / "distributed"
sys.path.insert(0, str(WORKERS))


def batches(n, size, passes=1):
    return [min(size, n - i) for i in range(0, n, size)] * passes


# case -> (the batch sizes it reads, whether it predicts)
CASES = {
    "evaluate b6": (batches(60, 6), False), "evaluate b7": (batches(61, 7), False),
    "evaluate b2": (batches(61, 2), False), "evaluate b1": (batches(61, 1), False),
    "evaluate batch logs": (batches(61, 7), False),
    "predict b7": (batches(61, 7), True), "predict b2": (batches(61, 2), True),
    "predict b1": (batches(61, 1), True), "predict tensor": (batches(5, 4), True),
    "predict batch outputs": (batches(10, 4), True),
    "evaluate DataLoader": (batches(61, 7), False), "evaluate generator": (batches(61, 5), False),
    "predict PyDataset": (batches(61, 9), True), "predict Dataset": (batches(61, 8), True),
    "fit validation": (batches(23, 5, passes=3), False),
    "two outputs evaluate b7": (batches(61, 7), False),
    "two outputs predict b7": (batches(61, 7), True),
    "two outputs evaluate b1": (batches(61, 1), False),
    "two outputs predict b1": (batches(61, 1), True),
    "two outputs predict list": (batches(61, 10), True),
}


def expected_rows(case, rank, world):
    """Rows of this rank's shares; a predicting rank with an empty share also ran one row once
    (to shape its empty outputs)."""
    sizes, predicts = CASES[case]
    shares = [shard_sizes(n, world)[rank] for n in sizes]
    return sum(shares) + (1 if predicts and 0 in shares else 0)


@pytest.fixture(scope="module")
def reference():
    return single_process_reference("eval_worker")


def flat(value):
    if isinstance(value, dict):
        return [v for k in sorted(value) for v in flat(value[k])]
    if isinstance(value, list):
        return [v for item in value for v in flat(item)]
    return [value]


def test_the_cases_cover_every_worker_case(reference):
    assert set(reference) == set(CASES)
    for case, (sizes, _) in CASES.items():  # one process ran every row, nothing more
        assert reference[case]["rows"] == sum(sizes), case


@pytest.mark.parametrize("world", [2, 3])
def test_every_rank_returns_one_process_result_having_run_its_share(tmp_path, reference, world):
    reports = launch_reports("eval_worker.py", world, tmp_path, limit=240)
    for case, ref in reference.items():
        for rank, report in enumerate(reports):
            got = report[case]
            want, have = flat(ref["value"]), flat(got["value"])
            assert len(have) == len(want), f"rank {rank}, {case}: not the full result"
            tol = 1e-12 if "predict" in case else 1e-10
            np.testing.assert_allclose(have, want, rtol=tol, atol=1e-13,
                                       err_msg=f"rank {rank}, {case}")
            assert got["rows"] == expected_rows(case, rank, world), (case, rank, got["rows"])
            if case.endswith("predict b1"):  # one-row forwards on both sides: the same bits
                assert have == want, (case, rank)
        # the same on every rank, to the last bit (one summed state, one gathered result)
        assert all(flat(r[case]["value"]) == flat(reports[0][case]["value"]) for r in reports)
    # dict results keep their keys (two outputs predict -> {"label", "value"})
    assert set(reports[0]["two outputs predict b7"]["value"]) == {"label", "value"}
