"""Smoke tests of the convolution examples: each main() runs in seconds with tiny settings and prints
its table (the real numbers come from the default settings, README)."""

import pytest
import torch
from test_examples import PERCENT, load, table_rows


@pytest.fixture(autouse=True)
def keep_thread_count():
    """The examples call torch.set_num_threads(1); give the rest of the suite its threads back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_digits_cnn_runs_and_prints_its_table(capsys):
    example = load("digits_cnn")
    runs = example.main(["--seeds", "1", "--epochs", "2", "--patience", "1", "--width", "4"])
    rows = table_rows(capsys.readouterr().out)
    assert len(runs) == 1 and 0.0 <= runs[0]["test"] <= 1.0
    assert rows[0][0].startswith("digits") and rows[0][1] == "1347 / 450"
    assert PERCENT.match(rows[0][2])


def test_digits_cnn_sees_images_in_keras_layout():
    example = load("digits_cnn")
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x_train, y_train, x_test, _ = example.split_images(x, y, 0)
    assert x_train.shape == (1347, 8, 8, 1) and x_test.shape == (450, 8, 8, 1)
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert example.digits_cnn(width=4).output_shape == (None, 10)


def test_timeseries_conv1d_runs_and_prints_both_models(capsys):
    example = load("timeseries_conv1d")
    results = example.main(["--seeds", "1", "--epochs", "1", "--patience", "1",
                            "--n-train", "100", "--n-test", "40"])
    rows = table_rows(capsys.readouterr().out)
    assert set(results) == {"Conv1D", "MLP"}
    assert [r[0] for r in rows] == ["motifs, Conv1D", "motifs, MLP"]
    assert all(PERCENT.match(r[2]) for r in rows)


def test_timeseries_data_is_reproducible_and_balanced():
    example = load("timeseries_conv1d")
    x1, y1 = example.make_series(400, 3)
    x2, y2 = example.make_series(400, 3)
    assert x1.shape == (400, 128, 1) and (x1 == x2).all() and (y1 == y2).all()
    counts = torch.bincount(torch.as_tensor(y1), minlength=4)
    assert counts.min() > 60  # four classes, roughly uniform
