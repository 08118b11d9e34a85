"""Smoke tests of the example scripts: each main() runs in seconds with tiny settings and prints
its table with the expected rows. The real numbers come from the default settings (README)."""

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def load(name, folder=EXAMPLES):
    """Import examples/<name>.py as `python examples/<name>.py` would see it (its folder on path)."""
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(f"_example_{name}", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def keep_thread_count():
    """The examples call torch.set_num_threads(1); give the rest of the suite its threads back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def table_rows(out: str) -> list[list[str]]:
    """Cells of every Markdown table row printed, header and rule excluded."""
    rows = []
    for line in out.splitlines():
        if line.startswith("|") and not re.fullmatch(r"\|[-|]+\|", line):
            rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows[1:] if rows else rows


PERCENT = re.compile(r"^\d+\.\d+( ± \d+\.\d+)?%$")


def test_seed_grid_prints_all_18_cells(capsys):
    grid = load("seed_grid")
    results = grid.main(["--seeds", "2", "--epochs", "1", "--n", "64"])
    rows = table_rows(capsys.readouterr().out)
    assert len(results) == len(rows) == 18
    cells = {(r[0], r[1], r[2]) for r in rows}
    assert cells == {(a, l, o) for a in ("Tanh", "ReLU", "LeakyReLU") for l in ("MSE", "BCE")
                     for o in ("gradient step", "momentum", "Adam")}
    for row in rows:
        assert PERCENT.match(row[3]) and PERCENT.match(row[4])
    for r in results:
        for mean, std in (r["train"], r["test"]):
            assert 0.0 <= mean <= 1.0 and std >= 0.0


def test_seed_grid_cells_of_one_seed_share_data_and_start(capsys):
    grid = load("seed_grid")
    args = grid.parse_args(["--epochs", "0", "--n", "50"])
    data = grid.disk_split(0, 50, raw=False)
    # With no training, only the loss and optimizer differ: the same weights give the same accuracy.
    accs = {grid.run_cell("relu", loss, opt, 0, data, args)
            for loss in grid.LOSSES for opt in grid.OPTIMIZERS}
    assert len(accs) == 1
    x_train = data[0]
    assert torch.allclose(x_train.mean(0), torch.zeros(2), atol=1e-5)  # standardised


def test_versus_pytorch_table_and_identical_start(capsys):
    versus = load("versus_pytorch")
    runs = versus.main(["--rounds", "2", "--epochs", "1", "--n", "100"])
    rows = table_rows(capsys.readouterr().out)
    names = [r[0] for r in rows]
    assert names[0].startswith("kerasette") and names[1].startswith("PyTorch")
    assert any("seed 004" in n for n in names)
    assert len(runs["kerasette"]) == len(runs["PyTorch"]) == 2
    # With zero epochs both nets are the kerasette model's initial weights: identical errors.
    runs = versus.main(["--rounds", "1", "--epochs", "0", "--n", "200"])
    (k_train, k_test, _), = runs["kerasette"]
    (t_train, t_test, _), = runs["PyTorch"]
    assert (k_train, k_test) == (t_train, t_test)


def test_versus_pytorch_targets_and_error_rate():
    versus = load("versus_pytorch")
    y = torch.tensor([[1.0], [0.0], [1.0]])
    assert torch.equal(versus.pm_one_targets(y), torch.tensor([[1.0, 1], [-1, -1], [1, 1]]))
    outputs = torch.tensor([[0.5, 0.1], [0.2, -0.9], [-0.3, 0.1]])  # means 0.3, -0.35, -0.1
    assert versus.error_rate(outputs, y) == pytest.approx(1 / 3)


def test_tabular_both_data_sets(capsys):
    tabular = load("tabular")
    results = tabular.main(["--seeds", "1", "--epochs", "3", "--patience", "1"])
    rows = table_rows(capsys.readouterr().out)
    assert [r[0] for r in rows] == ["breast cancer (2 classes)", "wine (3 classes)"]
    assert rows[0][1] == "426 / 143" and rows[1][1] == "133 / 45"
    for runs in results.values():
        assert len(runs) == 1 and 1 <= runs[0]["epochs"] <= 3 and 0 <= runs[0]["test"] <= 1


def test_digits(capsys):
    digits = load("digits")
    runs = digits.main(["--seeds", "1", "--epochs", "2", "--split-seed", "3"])
    rows = table_rows(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0][0].startswith("digits") and rows[0][1] == "1347 / 450"
    assert PERCENT.match(rows[0][2])
    assert runs[0]["epochs"] == 2


def test_recipe_split_is_stratified_and_standardised_with_train_statistics():
    common = load("_common")
    x = np.arange(200, dtype=np.float64).reshape(100, 2)
    y = np.array([0] * 80 + [1] * 20)
    x_train, y_train, x_test, y_test = common.split_and_standardise(x, y, test_size=0.25, seed=0)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert (y_test == 1).sum() == 5 and (y_train == 1).sum() == 15  # stratified
    assert np.allclose(x_train.mean(0), 0, atol=1e-5) and np.allclose(x_train.std(0), 1, atol=1e-3)
    assert not np.allclose(x_test.mean(0), 0, atol=1e-3)  # test uses train's statistics


def test_common_standardise_constant_feature_and_table():
    common = load("_common")
    x = torch.tensor([[1.0, 5.0], [3.0, 5.0]])
    (xs,) = common.standardise(x)
    assert torch.equal(xs[:, 1], torch.zeros(2)) and torch.allclose(xs[:, 0].abs(), torch.ones(2)
                                                                    / 2 ** 0.5)
    lines = common.format_table(["a", "bb"], [[1, "x"], ["long", 2]])
    assert lines == ["| a    | bb |", "|------|----|", "| 1    | x  |", "| long | 2  |"]
    assert common.mean_std([0.5]) == (0.5, 0.0)
    assert common.pct(0.9731, 0.004) == "97.3 ± 0.4%"
    with pytest.raises(ValueError, match="threads"):
        common.limit_threads(0)


def test_bench_peers_nets_share_the_initial_weights():
    bench = load("bench_peers", ROOT / "benchmarks")
    common = load("common", ROOT / "benchmarks")
    params = common.init_params(bench.SIZES, seed=0)
    flat = torch.cat([p.reshape(-1) for p in params])
    x = torch.rand(7, 2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(bench.torch_net()(x), bench.flat_forward(flat, x), atol=1e-6)
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert bench.test_error(lambda xs: torch.tensor([[2.0, 1.0], [3.0, 0.0]]), None, y) == 0.5



def test_bench_fit_tuned_lean_loop_is_the_same_training():
    """bench_fit compares fit with the tuned lean loop: it must train exactly as the plain one
    (same shuffles, same updates), only cheaper."""
    common = load("common", ROOT / "benchmarks")
    g = torch.Generator().manual_seed(3)
    x = torch.randn(64, 6, generator=g, dtype=torch.float64)
    y = torch.randn(64, 4, generator=g, dtype=torch.float64)
    run = dict(x=x, y=y, sizes=[6, 5, 5, 4], epochs=3, batch_size=16, lr=0.05)
    plain, tuned = common.lean_loop(**run), common.lean_loop(**run, tuned=True)
    start = torch.cat([p.reshape(-1) for p in common.init_params(run["sizes"], 0, x.dtype)])
    assert not torch.allclose(plain, start)
    torch.testing.assert_close(tuned, plain, rtol=0, atol=1e-12)
    times = {"fit": [1.0, 1.1, 1.2, 1.05, 1.3], "floor": [1.0] * 5}
    assert common.paired_ratio(times, "fit", "floor") == 1.1
    assert common.paired_spread(times, "fit", "floor") == "1.02-1.25"

def test_disk_prints_each_seed_and_the_mean_and_plots(capsys, tmp_path):
    disk = load("disk")
    mean = disk.main(["--seeds", "2", "--epochs", "3", "--plot", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    seed_lines = [line for line in out.splitlines() if re.match(r"^\s+\d+\s+\d+\.\d+%", line)]
    assert len(seed_lines) == 2
    assert f"mean test accuracy over 2 seeds: {mean:.2%}" in out
    assert 0.4 < mean <= 1.0
    for name in ("disk_predictions.png", "disk_curves.png"):
        png = tmp_path / name
        assert png.stat().st_size > 10_000
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_disk_labels_follow_the_disk_of_area_one_half():
    disk = load("disk")
    x, y = disk.make_disk_data(20_000, torch.Generator().manual_seed(0))
    inside = ((x - 0.5) ** 2).sum(1) < disk.RADIUS ** 2
    assert torch.equal(y[:, 0].bool(), inside)
    assert abs(y.mean().item() - 0.5) < 0.01  # area pi r^2 = 1/2


def test_residual_three_builds_train_identically(capsys):
    residual = load("residual")
    rows, same = residual.main(["--seeds", "1", "--epochs", "2", "--width", "8", "--blocks", "1"])
    out = capsys.readouterr().out
    assert same and "identical weights: yes" in out
    assert [r[0] for r in rows] == ["disk (seeds' task)", "digits 8x8"]
    # functional, subclassed and nested report the same accuracy; the plain MLP is its own column
    for r in rows:
        assert r[1] == r[2] == r[3]


def test_two_heads_logs_keras_names_and_learns(capsys):
    two_heads = load("two_heads")
    history, scores, baseline = two_heads.main(["--epochs", "3"])
    assert set(history.history) == {
        "loss", "price_loss", "expensive_loss", "price_mae", "expensive_accuracy",
        "val_loss", "val_price_loss", "val_expensive_loss", "val_price_mae",
        "val_expensive_accuracy"}
    assert scores["loss"] == pytest.approx(scores["price_loss"] + 0.5 * scores["expensive_loss"],
                                           rel=1e-5)
    assert scores["price_loss"] < baseline
