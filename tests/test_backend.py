"""ks.backend (Keras 3.16's keras.backend names, plus Keras 2's get_value / set_value) and the
mirrors in ks.utils / ks.config."""

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette import backend as K


@pytest.fixture(autouse=True)
def restore_settings():
    floatx, eps, fmt = K.floatx(), K.epsilon(), K.image_data_format()
    yield
    K.set_floatx(floatx)
    K.set_epsilon(eps)
    K.set_image_data_format(fmt)


def test_clear_session_restarts_layer_names():
    ks.layers.Dense(2)
    ks.layers.Dense(2)
    K.clear_session()
    assert ks.layers.Dense(2).name == "dense"
    assert ks.layers.Dense(2).name == "dense_1"
    ks.utils.clear_session(free_memory=False)
    assert ks.layers.Dropout(0.5).name == "dropout"


def test_get_layer_by_its_default_name_in_every_fold():
    """A K-fold loop as Keras tutorials write it."""
    x, y = torch.randn(40, 3), torch.randn(40, 1)
    for _ in range(3):
        K.clear_session()
        model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(4, activation="relu"),
                               ks.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, epochs=1, verbose=0)
        assert model.get_layer("dense").kernel.shape == (3, 4)
        assert model.get_layer("dense_1").kernel.shape == (4, 1)


def test_get_value_and_set_value_on_the_learning_rate():
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(1)])
    model.compile(optimizer=ks.optimizers.Adam(1e-3), loss="mse")
    lr = K.get_value(model.optimizer.learning_rate)
    assert isinstance(lr, np.ndarray) and float(lr) == pytest.approx(1e-3)
    K.set_value(model.optimizer.learning_rate, 0.5 * K.get_value(model.optimizer.learning_rate))
    assert float(model.optimizer.learning_rate) == pytest.approx(5e-4)
    K.set_value(model.optimizer.learning_rate, np.float32(0.01))
    assert model.optimizer.learning_rate == pytest.approx(0.01)


def test_get_value_and_set_value_on_weights_and_tensors():
    layer = ks.layers.Dense(2)
    layer(torch.zeros(1, 3))
    K.set_value(layer.kernel, np.ones((3, 2)))
    assert (K.get_value(layer.kernel) == 1).all()
    t = torch.zeros(2)
    K.set_value(t, [1.0, 2.0])
    assert t.tolist() == [1.0, 2.0] and K.get_value(t).tolist() == [1.0, 2.0]
    assert K.get_value(3.5) == 3.5
    with pytest.raises(ValueError, match="shape"):
        K.set_value(t, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="x"):
        K.set_value(3.0, 1.0)
    with pytest.raises(TypeError, match="x"):
        K.get_value("lr")


def test_float_settings_are_shared_with_config():
    assert K.floatx() == ks.config.floatx() == "float32"
    K.set_floatx("float64")
    assert ks.config.floatx() == "float64"
    assert ks.layers.Dense(2).add_weight("w", (2,)).value.dtype == torch.float64
    assert K.epsilon() == 1e-7
    K.set_epsilon(1e-5)
    assert ks.config.epsilon() == 1e-5
    with pytest.raises(ValueError, match="floatx"):
        K.set_floatx("float8")


def test_image_data_format():
    assert K.image_data_format() == ks.config.image_data_format() == "channels_last"
    ks.config.set_image_data_format("channels_first")
    assert K.image_data_format() == "channels_first"
    with pytest.raises(ValueError, match="data_format"):
        K.set_image_data_format("NHWC")


def test_backend_name():
    assert K.backend() == "torch"


def test_get_value_and_set_value_on_a_metric_variable():
    metric = ks.metrics.Mean()
    metric.update_state(torch.tensor([1.0, 3.0]))
    variables = metric.variables
    assert float(K.get_value(variables[0])) == 4.0
    K.set_value(variables[0], 10.0)
    assert float(variables[0]) == 10.0
    assert float(ks.ops.divide(variables[0], variables[1])) == 5.0  # ops read variables too
    assert ks.ops.convert_to_numpy(variables[1]) == 2.0
