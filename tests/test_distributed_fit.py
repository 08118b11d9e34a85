"""`fit` on 2 and 3 real gloo processes (127.0.0.1) equals `fit` in one process, in float64.

The worker (tests/distributed/fit_worker.py) trains a Sequential model (Dropout, class weights, a
validation split, SGD with momentum, EarlyStopping, batch 7: unequal shares), a two-output
functional model (loss weights, Adam), an activity penalty, and a second fit after the replicas
drifted apart (fit starts from rank 0's weights and optimizer state), and a shuffled DataLoader with
each rank's torch seeded differently. Every rank must end with the single-process weights and
History (to 1e-10), stop at the same epoch, have trained on its share only, and only rank 0 writes
files; data that differs between ranks is refused on every rank.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from test_distribution_primitives import launch_reports, single_process_reference  # noqa: E402  (tests/ is on sys.path)

WORKERS = Path(__file__).resolve().parent / "distributed"
sys.path.insert(0, str(WORKERS))


@pytest.fixture(scope="module")
def reference():
    return single_process_reference("fit_worker")


@pytest.mark.parametrize("world", [2, 3])
def test_every_rank_ends_where_one_process_ends(tmp_path, reference, world):
    reports = launch_reports("fit_worker.py", world, tmp_path, limit=240)
    for name in ("sequential", "functional", "tiny batches", "activity", "drifted replicas",
                 "shuffled loader"):
        ref = reference[name]
        for rank, report in enumerate(reports):
            got = report[name]
            assert set(got["history"]) == set(ref["history"])
            for key, values in ref["history"].items():  # same epochs: EarlyStopping agreed
                np.testing.assert_allclose(got["history"][key], values, rtol=1e-10, atol=1e-12,
                                           err_msg=f"rank {rank}, {name}, {key}")
            for w_got, w_ref in zip(got["weights"], ref["weights"]):
                np.testing.assert_allclose(w_got, w_ref, rtol=1e-10, atol=1e-12,
                                           err_msg=f"rank {rank}, {name} weights")
    # Data that differs between ranks is refused on every rank at the first step, weights unchanged.
    assert reference["per-rank data"] == {"error": None}
    for report in reports:
        got = report["per-rank data"]
        assert "hold different global batches" in got["error"] and got["weights unchanged"]
    # Only rank 0 wrote its CSV log (the callback ran wrapped on the other ranks).
    assert sorted(p.name for p in tmp_path.glob("log_rank*.csv")) == ["log_rank0.csv"]
    # Each rank trained on its share only: together exactly the rows of one process.
    rows = [report["sequential"]["rows"] for report in reports]
    assert sum(rows) == reference["sequential"]["rows"]
    assert all(0 < r < reference["sequential"]["rows"] for r in rows)
