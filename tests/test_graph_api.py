"""The graph API from a user's side: clear errors, inspection, predict's structures, and a functional
model that trains exactly like its Sequential twin."""

import io
import math

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.layers import Concatenate, Dense


def two_input_model():
    a, b = ks.Input((3,), name="a"), ks.Input((2,), name="b")
    h = Concatenate()([Dense(4, activation="tanh")(a), b])
    return ks.Model([a, b], Dense(1, name="out")(h))


def two_output_model(as_dict=False):
    x = ks.Input((4,), name="x")
    h = Dense(5, activation="tanh", name="trunk")(x)
    reg, cls = Dense(2, name="reg")(h), Dense(1, activation="sigmoid", name="cls")(h)
    return ks.Model(x, {"reg": reg, "cls": cls} if as_dict else [reg, cls])


def data(n, *widths, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, w, generator=g) for w in widths]


# ----- errors -------------------------------------------------------------------------------------
def test_disconnected_graph_names_the_missing_input():
    a, b = ks.Input((3,), name="a"), ks.Input((2,), name="b_missing")
    out = Dense(1)(Concatenate()([a, b]))
    with pytest.raises(ValueError, match=r"(?s)disconnected.*b_missing.*ks.Input"):
        ks.Model(a, out)
    with pytest.raises(ValueError, match="b_missing"):
        ks.Model(a, b)  # an output that is an Input not passed to the model


def test_inputs_must_be_ks_inputs():
    a = ks.Input((3,))
    h = Dense(2)(a)
    with pytest.raises(ValueError, match="ks.Input"):
        ks.Model(h, Dense(1)(h))


def test_fit_missing_dict_key_names_it_and_changes_nothing():
    model = two_input_model()
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()
    xa, xb, y = data(8, 3, 2, 1)
    with pytest.raises(ValueError, match=r"(?s)missing.*'b'"):
        model.fit({"a": xa}, y, verbose=0)
    with pytest.raises(ValueError, match=r"(?s)\['c'\].*not input names"):
        model.fit({"a": xa, "b": xb, "c": xb}, y, verbose=0)
    for w0, w1 in zip(before, model.get_weights()):
        np.testing.assert_array_equal(w0, w1)
    model.fit({"a": xa, "b": xb}, y, verbose=0)  # the right structure trains


@pytest.mark.parametrize("count", [1, 3])
def test_fit_wrong_list_length(count):
    model = two_input_model()
    model.compile(optimizer="sgd", loss="mse")
    xa, xb, y = data(8, 3, 2, 1)
    xs = [xa, xb, xb][:count]
    with pytest.raises(ValueError, match=rf"(?s)Invalid x.*2 inputs.*of {count} arrays"):
        model.fit(xs, y, verbose=0)


def test_fit_missing_output_labels():
    model = two_output_model(as_dict=True)
    model.compile(optimizer="sgd", loss={"reg": "mse", "cls": "binary_crossentropy"})
    x, yr = data(8, 4, 2)
    with pytest.raises(ValueError, match=r"(?s)cls.*needs labels"):
        model.fit(x, {"reg": yr}, verbose=0)


def test_flat_metrics_list_on_two_outputs_is_refused():
    model = two_output_model()
    with pytest.raises(ValueError, match=r"(?s)Invalid metrics.*several outputs.*\['reg', 'cls'\]"):
        model.compile(optimizer="sgd", loss=["mse", "binary_crossentropy"], metrics=["mae"])
    model.compile(optimizer="sgd", loss=["mse", "binary_crossentropy"],
                  metrics=[["mae"], ["accuracy"]])
    x, yr = data(8, 4, 2)
    yc = (torch.arange(8) % 2).float()[:, None]
    history = model.fit(x, [yr, yc], verbose=0)
    assert set(history.history) == {"loss", "reg_loss", "cls_loss", "reg_mae", "cls_accuracy"}


# ----- inspection ---------------------------------------------------------------------------------
class Block(ks.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.inner, self.outer = Dense(units, activation="relu"), Dense(units)

    def call(self, inputs, training=False):
        return inputs + self.outer(self.inner(inputs))


class Net(ks.Model):
    def __init__(self):
        super().__init__(name="net")
        self.stem = Dense(4, name="stem")
        self.block = Block(4, name="block")
        self.head = Dense(1, name="head")

    def call(self, inputs, training=False):
        return self.head(self.block(self.stem(inputs)))


def nested_model():
    inner = ks.Sequential([ks.Input((3,)), Dense(4, name="inner_dense")], name="inner")
    x = ks.Input((3,), name="x")
    return ks.Model(x, Dense(1, name="head")(inner(x))), inner


def test_get_layer_for_every_model_kind():
    functional = two_input_model()
    assert functional.get_layer("out").name == "out"
    assert functional.get_layer(index=0).name == "a"  # InputLayers first, as in Keras
    with pytest.raises(ValueError, match=r"(?s)no layer 'nope'.*'out'"):
        functional.get_layer("nope")

    net = Net()
    net.build((None, 3))
    assert net.get_layer("block") is net.block
    assert [layer.name for layer in net.layers] == ["stem", "block", "head"]

    model, inner = nested_model()
    assert model.get_layer("inner") is inner
    assert inner.get_layer("inner_dense") is inner.layers[0]


# ----- layer.input / layer.output, model.input / model.output (Keras's names) ------------------------
def test_feature_extractor_from_a_layers_output():
    # The common Keras idiom: cut a trained graph at a hidden layer.
    x = ks.Input((3,), name="x")
    hidden = Dense(4, activation="tanh", name="hidden")
    model = ks.Model(x, Dense(1, name="out")(hidden(x)))
    assert model.input is x and hidden.input is x and model.output is model.get_layer("out").output
    features = ks.Model(model.input, model.get_layer("hidden").output)
    data_x = data(5, 3)[0]
    kernel, bias = (torch.as_tensor(w) for w in hidden.get_weights())
    np.testing.assert_allclose(features.predict(data_x, verbose=0), torch.tanh(data_x @ kernel + bias),
                               rtol=1e-6, atol=1e-6)
    assert features.get_layer("hidden") is hidden  # the same layer, the same weights


def test_input_and_output_keep_the_given_structures():
    a, b = ks.Input((3,), name="a"), ks.Input((2,), name="b")
    cat = Concatenate()
    h = cat([a, b])
    reg, cls = Dense(2, name="reg")(h), Dense(1, name="cls")(h)
    as_dict = ks.Model({"first": a, "second": b}, {"r": reg, "c": cls})
    assert as_dict.input == {"first": a, "second": b} and as_dict.output == {"r": reg, "c": cls}
    as_list = ks.Model([a, b], [reg, cls])
    assert as_list.input == [a, b] and as_list.output == [reg, cls]
    assert cat.input == [a, b] and cat.output is h  # a call on several tensors: a list
    assert a.node.layer.input is a and a.node.layer.output is a  # an InputLayer reads itself

    seq = ks.Sequential([ks.Input((3,)), Dense(2, name="s1")])
    assert seq.input is seq.inputs[0] and seq.output is seq.outputs[0]
    assert seq.get_layer("s1").input is seq.input

    net = Net()
    net.build((None, 3))
    assert tuple(net.input.shape) == (None, 3) and tuple(net.output.shape) == (None, 1)


def test_input_of_a_shared_layer_is_its_first_call():
    a, b = ks.Input((3,), name="a"), ks.Input((3,), name="b")
    shared = Dense(2, name="shared")
    first = shared(a)
    shared(b)
    assert shared.input is a and shared.output is first


def test_input_before_any_symbolic_call_is_a_clear_error():
    with pytest.raises(AttributeError, match=r"'lonely' has never been called.*ks.Input"):
        _ = Dense(2, name="lonely").output
    with pytest.raises(ValueError, match="not built"):
        _ = ks.Sequential([Dense(2)]).input


def test_sequential_starting_with_a_built_model_is_built_at_once():
    inner = ks.Sequential([ks.Input((4,)), Dense(3, name="inner_d")], name="inner")
    outer = ks.Sequential([inner, Dense(1, name="head")])
    assert outer.built and outer.input_shape == (None, 4) and outer.count_params() == 15 + 4
    inner.trainable = False
    assert [w.name for w in outer.trainable_weights] == ["head/kernel", "head/bias"]
    assert len(outer.non_trainable_weights) == 2
    x = data(3, 4)[0]
    np.testing.assert_allclose(outer.predict(x, verbose=0),
                               outer.get_layer("head")(inner(x)).detach(), rtol=1e-6, atol=1e-6)
    # an integer input (token ids) keeps its dtype in the outer model
    tokens = ks.Sequential([ks.Input((5,), dtype="int64"), ks.layers.Embedding(10, 2)])
    assert ks.Sequential([tokens, ks.layers.Flatten()]).inputs[0].dtype == torch.int64


def test_a_layer_takes_a_numpy_batch_as_keras_does():
    layer = Dense(2)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    out = layer(x)
    assert isinstance(out, torch.Tensor)
    torch.testing.assert_close(out, layer(torch.from_numpy(x)))


def summary_text(model) -> str:
    out = io.StringIO()
    model.summary(print_fn=lambda line: print(line, file=out))
    return out.getvalue()


def test_summary_for_functional_subclassed_nested():
    functional = two_input_model()
    text = summary_text(functional)
    assert "Connected to" in text and "concatenate" in text
    assert f"Total params: {functional.count_params():,}" in text

    net = Net()
    net.build((None, 3))
    text = summary_text(net)
    assert "block (Block)" in text and f"Total params: {net.count_params():,}" in text
    assert net.count_params() == (3 * 4 + 4) + 2 * (4 * 4 + 4) + (4 + 1)

    model, inner = nested_model()
    text = summary_text(model)
    assert "inner (Sequential)" in text and f"Total params: {model.count_params():,}" in text


def _connected_to(text) -> dict:
    """{layer name: its Connected to cell} from a summary's rows (one row per layer)."""
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("Layer (type)"))
    column = header.index("Connected to")
    rows = [line for line in lines if " (" in line and line != header and
            not line.startswith("Model")]
    names = [row.split(" (")[0] for row in rows]
    assert len(names) == len(set(names)), "a layer has more than one row"
    return {name: row[column:].strip() for name, row in zip(names, rows)}


def test_summary_connected_to_as_keras_3_prints_it():
    # The cells Keras 3.x prints for this graph (keras.Model(...).summary(), checked with the
    # keras package): name[call][output]; a shared layer has one row listing every call's inputs.
    a, b = ks.Input((4,), name="a"), ks.Input((3,), name="b")
    h, h2 = Dense(8, name="dense")(a), Dense(8, name="dense_1")(b)
    s = ks.layers.Add(name="add")([h, h2])
    shared = Dense(2, name="dense_2")
    model = ks.Model([a, b], [shared(s), shared(h)])
    assert _connected_to(summary_text(model)) == {
        "a": "-", "b": "-", "dense": "a[0][0]", "dense_1": "b[0][0]",
        "add": "dense[0][0], dense_1[0][0]", "dense_2": "add[0][0], dense[0][0]"}
    # a tensor from a later call of a layer, the second output of a two-output model (Keras 3
    # prints the same cells for this graph too)
    inner = two_output_model()
    x = ks.Input((4,), name="x2")
    first, second = inner(x)
    again = shared(Dense(8, name="widen")(second))            # shared's call 2
    out = shared(Dense(8, name="widen2")(again))             # call 3
    outer = ks.Model(x, [first, out])
    assert _connected_to(summary_text(outer)) == {           # only this graph's calls of dense_2
        "x2": "-", inner.name: "x2[0][0]", "widen": f"{inner.name}[0][1]",
        "dense_2": "widen[0][0], widen2[0][0]", "widen2": "dense_2[2][0]"}


def _rows(text) -> list:
    return [line for line in text.splitlines() if " (" in line and not line.startswith(("Model",
                                                                                       "Layer"))]


def test_operations_are_not_layers_as_in_keras_3(tmp_path):
    # Checked with the keras package (3.x, torch backend): for x -> Dense "d" -> exp(h) + h,
    # model.layers is [input_layer, d], and the functional summary has the rows
    # "exp (Exp)" and "add (Add)"; a subclassed model's summary lists only its layers.
    x = ks.Input((4,), name="x")
    h = Dense(3, name="d")(x)
    model = ks.Model(x, ks.ops.relu(ks.ops.matmul(ks.ops.exp(h) + h, ks.ops.ones((3, 3))))[:, :2])
    assert [layer.name for layer in model.layers] == ["x", "d"]
    rows = [r.split()[:2] for r in _rows(summary_text(model))]  # op names count up per test run
    assert [t for _, t in rows] == ["(InputLayer)", "(Dense)", "(Exp)", "(Add)", "(Matmul)",
                                    "(ReLU)", "(GetItem)"]
    with pytest.raises(ValueError, match=r"no layer 'matmul.*its layers are \['x', 'd'\]"):
        model.get_layer(rows[4][0])
    model.save(tmp_path / "ops.keras")  # the tag survives saving: ks.ops.relu's ReLU stays an op
    again = ks.models.load_model(tmp_path / "ops.keras")
    assert [layer.name for layer in again.layers] == ["x", "d"]

    class Residual(ks.Model):
        def __init__(self):
            super().__init__()
            self.inner = Dense(4, name="inner")

        def call(self, inputs):
            return inputs + ks.ops.exp(self.inner(inputs))

    sub = Residual()
    sub.build((None, 4))
    assert [layer.name for layer in sub.layers] == ["inner"]
    assert [r.split()[0] for r in _rows(summary_text(sub))] == ["inner"]
    assert sub.count_params() == 20  # the operations' rows are gone, not their weights


def test_summary_columns_as_keras_3_chooses_them():
    # Keras 3 adds "Connected to" only for a graph that is not a plain chain
    x = ks.Input((4,), name="x")
    chain = ks.Model(x, Dense(2, name="o")(Dense(8, name="h")(x)))
    text = summary_text(chain)
    assert "Connected to" not in text
    assert [r.split()[0] for r in _rows(text)] == ["x", "h", "o"]  # the InputLayer row stays
    shared = Dense(4, name="twice")
    looped = ks.Model(x, shared(shared(x)))  # a chain, but one layer called twice
    assert "Connected to" in summary_text(looped)
    net = Net()
    net.build((None, 3))
    assert "Connected to" not in summary_text(net)  # subclassed: a list of layers, as Keras


def test_summary_expand_nested_layer_range_and_trainable():
    inner = ks.Sequential([ks.Input((4,)), Dense(3, name="i1"), Dense(3, name="i2")], name="inner")
    b, c = ks.Input((4,), name="b"), ks.Input((4,), name="c")
    outer = ks.Model([b, c], Dense(1, name="head")(ks.layers.Add(name="add")([inner(b), inner(c)])))
    out = io.StringIO()
    outer.summary(expand_nested=True, show_trainable=True,
                  print_fn=lambda line: print(line, file=out))
    rows = [r.split() for r in _rows(out.getvalue())]
    assert [r[0] if r[0] != "└" else "└ " + r[1] for r in rows] == [
        "b", "c", "inner", "└ i1", "└ i2", "add", "head"]
    assert [r[-1] for r in rows] == ["-", "-", "Y", "Y", "Y", "-", "Y"]  # "-": no weights
    assert rows[3][-2] == "-"  # a nested row's connections are inside the nested model
    out = io.StringIO()
    outer.summary(layer_range=["inn", "ad"], print_fn=lambda line: print(line, file=out))
    assert [r.split()[0] for r in _rows(out.getvalue())] == ["inner", "add"]
    with pytest.raises(ValueError, match=r"'nope' matches no layer name; the layers are \['b'"):
        outer.summary(layer_range=["nope", "add"])
    with pytest.raises(ValueError, match="Invalid layer_range: expected two layer names"):
        outer.summary(layer_range="inner")


# ----- predict's structures -------------------------------------------------------------------------
def test_predict_returns_list_for_list_outputs():
    model = two_output_model()
    x = data(6, 4)[0].numpy()
    out = model.predict(x, batch_size=4, verbose=0)
    assert isinstance(out, list) and [o.shape for o in out] == [(6, 2), (6, 1)]
    direct = model(torch.from_numpy(x))
    for got, want in zip(out, direct):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-6, atol=1e-6)
    assert ((out[1] > 0) & (out[1] < 1)).all()  # probabilities, not logits


def test_predict_returns_dict_for_dict_outputs():
    model = two_output_model(as_dict=True)
    out = model.predict(data(6, 4)[0].numpy(), verbose=0)
    assert isinstance(out, dict) and list(out) == ["reg", "cls"]
    assert out["reg"].shape == (6, 2) and out["cls"].shape == (6, 1)


@pytest.mark.parametrize("structure", ["list", "dict"])
def test_predict_on_batch_takes_several_inputs_as_one_batch(structure):
    model = two_input_model()
    a, b = (t.numpy() for t in data(5, 3, 2))
    x = [a, b] if structure == "list" else {"b": b, "a": a}
    calls = []
    forward = model._forward
    model._forward = lambda *args, **kw: calls.append(1) or forward(*args, **kw)
    out = model.predict_on_batch(x)
    assert len(calls) == 1 and out.shape == (5, 1)  # all 5 rows in one forward, not 2 per batch
    np.testing.assert_allclose(out, model.predict([a, b], verbose=0), rtol=1e-6, atol=1e-6)


# ----- a functional model trains exactly like its Sequential twin ------------------------------------
def disk(n, seed=0):
    """The seeds' task: points in the unit square, one-hot "inside the disk of area 1/2"."""
    x = torch.rand(n, 2, generator=torch.Generator().manual_seed(seed))
    inside = ((x - 0.5).pow(2).sum(1) < 1 / (2 * math.pi)).long()
    return x, torch.eye(2)[inside]


def test_functional_twin_of_seeds_net_is_bit_identical():
    sizes = [25, 25, 25]
    seq = ks.Sequential([ks.Input((2,))] + [Dense(u, activation="relu") for u in sizes]
                        + [Dense(2)])
    x_in = h = ks.Input((2,))
    for u in sizes:
        h = Dense(u, activation="relu")(h)
    fun = ks.Model(x_in, Dense(2)(h))
    fun.set_weights(seq.get_weights())
    fun.set_rng_state(seq.get_rng_state())  # the same shuffling order
    initial = seq.get_weights()
    x, y = disk(200)
    histories = []
    for model in (seq, fun):
        model.compile(optimizer=ks.optimizers.SGD(0.1), loss="mse")
        histories.append(model.fit(x, y, batch_size=10, epochs=3, verbose=0).history)
    assert histories[0] == histories[1]
    for a, b in zip(seq.get_weights(), fun.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(seq.get_weights()[0], initial[0])  # it trained
