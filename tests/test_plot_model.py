"""ks.utils.plot_model: a non-empty picture for Sequential and functional models, with the
matplotlib drawing always and with Graphviz's dot when it is installed; Keras's arguments."""

import shutil

import pytest

import kerasette as ks
from kerasette.plot_model import dot_source, layer_graph

pytest.importorskip("matplotlib")
PNG = b"\x89PNG\r\n\x1a\n"


def sequential():
    return ks.Sequential([ks.Input((2,)), ks.layers.Dense(4, activation="relu"),
                          ks.layers.Dense(1, activation="sigmoid")])


def functional():
    inputs = ks.Input((8,), name="features")
    h = ks.layers.Dense(6, activation="relu", name="hidden")(inputs)
    h = ks.layers.Add(name="residual")([h, ks.layers.Dense(6, name="branch")(h)])
    return ks.Model(inputs, ks.layers.Dense(1, name="out")(h))


ENGINES = ["matplotlib"] + (["graphviz"] if shutil.which("dot") else [])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("make", [sequential, functional])
def test_writes_a_non_empty_png(tmp_path, make, engine):
    path = tmp_path / "model.png"
    out = ks.utils.plot_model(make(), to_file=path, show_shapes=True, show_layer_names=True,
                              show_layer_activations=True, show_trainable=True, engine=engine)
    assert out == str(path)
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 1000


@pytest.mark.parametrize("rankdir", ["LR", "BT"])
def test_other_directions_and_formats(tmp_path, rankdir):
    ks.utils.plot_model(functional(), tmp_path / "m.svg", rankdir=rankdir, engine="matplotlib")
    assert "<svg" in (tmp_path / "m.svg").read_text()


def test_boxes_edges_and_labels_follow_the_graph():
    boxes, edges, _ = layer_graph(functional(), show_shapes=True, show_layer_names=True,
                               show_layer_activations=True)
    labels = {lines[0].split()[0]: lines for _, lines in boxes}
    assert list(labels) == ["features", "hidden", "branch", "residual", "out"]
    assert labels["hidden"][1:] == ["Activation: relu", "Input shape: (None, 8)",
                                    "Output shape: (None, 6)"]
    assert labels["residual"][1] == "Input shape: [(None, 6), (None, 6)]"
    key = {lines[0].split()[0]: k for k, lines in boxes}
    assert set(edges) == {(key["features"], key["hidden"]), (key["hidden"], key["branch"]),
                          (key["hidden"], key["residual"]), (key["branch"], key["residual"]),
                          (key["residual"], key["out"])}
    source = dot_source("m", boxes, edges)
    assert source.startswith('digraph "m" {') and source.count("->") == 5
    boxes, _, _ = layer_graph(sequential())  # Keras's defaults: the class name only
    assert [lines for _, lines in boxes] == [["InputLayer"], ["Dense"], ["Dense"]]


def test_bad_arguments_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match="model"):
        ks.utils.plot_model(ks.Sequential([ks.layers.Dense(1)]), tmp_path / "m.png")
    for kwargs, arg in (({"rankdir": "UP"}, "rankdir"), ({"engine": "ascii"}, "engine"),
                        ({"dpi": 0}, "dpi"), ({"layer_range": [0, 1]}, "layer_range")):
        with pytest.raises(ValueError, match=arg):
            ks.utils.plot_model(sequential(), tmp_path / "m.png", **kwargs)


def test_the_readme_pictures_example_runs(tmp_path, capsys):
    """examples/see_training.py with 2 epochs: explain's table printed, pictures and logs written."""
    import importlib.util
    import sys
    from pathlib import Path

    import torch

    folder = Path(__file__).resolve().parents[1] / "examples"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location("_example_see_training",
                                                  folder / "see_training.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    try:
        module.main(["--epochs", "2", "--out", str(tmp_path / "out"), "--docs",
                     str(tmp_path / "docs")])
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "PASS" in out and "FAIL" not in out and "grad_norm/" in out
    for name in ("explain_disk.png", "plot_model_disk.png", "plot_model_residual.png"):
        assert (tmp_path / "docs" / name).read_bytes()[:8] == PNG
    assert list((tmp_path / "out" / "logs" / "train").iterdir())


@pytest.mark.parametrize("engine", ENGINES)
def test_expand_nested_opens_a_nested_model(tmp_path, engine):
    inner_in = ks.Input((4,), name="block_in")
    block = ks.Model(inner_in, ks.layers.Dense(3, name="block_dense")(inner_in), name="block")
    inputs = ks.Input((2,), name="x")
    model = ks.Model(inputs, ks.layers.Dense(1, name="head")(
        block(ks.layers.Dense(4, name="stem")(inputs))))
    boxes, edges, clusters = layer_graph(model, show_layer_names=True)
    assert [lines[0].split()[0] for _, lines in boxes] == ["x", "stem", "block", "head"]
    assert clusters == []
    boxes, edges, clusters = layer_graph(model, show_layer_names=True, expand_nested=True)
    names = {key: lines[0].split()[0] for key, lines in boxes}
    assert list(names.values()) == ["x", "stem", "block_in", "block_dense", "head"]
    assert [(a, [names[k] for k in keys]) for a, keys in clusters] == [
        ("block", ["block_in", "block_dense"])]
    assert [(names[a], names[b]) for a, b in edges] == [
        ("x", "stem"), ("stem", "block_in"), ("block_in", "block_dense"), ("block_dense", "head")]
    ks.utils.plot_model(model, tmp_path / "m.png", expand_nested=True, engine=engine)
    assert (tmp_path / "m.png").read_bytes()[:8] == PNG
