"""`Dense(..., input_shape=...)` / `Flatten(input_shape=...)`: the older Keras way to start a model."""

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.layers import Dense, Flatten


def test_first_layer_input_shape_builds_the_model_at_once():
    model = ks.Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(1)])
    assert model.built and model.input_shape == (None, 3) and model.output_shape == (None, 1)
    assert model.count_params() == 3 * 4 + 4 + 4 + 1


def test_add_with_input_shape_and_flatten():
    model = ks.Sequential()
    model.add(Flatten(input_shape=(2, 2)))
    model.add(Dense(3))
    assert model.built and model.input_shape == (None, 2, 2)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((4, 2, 2), np.float32), np.zeros((4, 3), np.float32), verbose=0)


def test_input_shape_must_match_the_data():
    model = ks.Sequential([Dense(2, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="x"):
        model.fit(torch.zeros(4, 5), torch.zeros(4, 2), verbose=0)


@pytest.mark.parametrize("bad", [(0,), (2.5,), "3", (True,), 3])
def test_bad_input_shape_names_the_argument(bad):
    with pytest.raises(ValueError, match="input_shape"):
        Dense(2, input_shape=bad)


def test_config_round_trip_keeps_input_shape():
    layer = Dense(2, input_shape=(3,))
    again = Dense.from_config(layer.get_config())
    assert again.input_shape_arg == (3,)
    assert "input_shape" not in Dense(2).get_config()


def test_an_open_size_in_input_shape_as_keras_takes_it():
    """Keras's RNN guide: `LSTM(64, input_shape=(None, 28))` for sequences of any length."""
    model = ks.Sequential([ks.layers.LSTM(4, input_shape=(None, 3)), Dense(1)])
    assert model.input_shape == (None, None, 3)
    assert model.predict(torch.zeros(2, 7, 3), verbose=0).shape == (2, 1)
    assert model.predict(torch.zeros(2, 4, 3), verbose=0).shape == (2, 1)
    assert ks.layers.LSTM.from_config(model.layers[0].get_config()).input_shape_arg == (None, 3)
