"""Losses: string ids, get/serialize round trips, argument and shape validation, dtypes."""

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette import losses

F64 = torch.float64

IDS = {
    "mse": losses.MeanSquaredError, "mean_squared_error": losses.MeanSquaredError,
    "mae": losses.MeanAbsoluteError, "mean_absolute_error": losses.MeanAbsoluteError,
    "huber": losses.Huber, "binary_crossentropy": losses.BinaryCrossentropy,
    "categorical_crossentropy": losses.CategoricalCrossentropy,
    "sparse_categorical_crossentropy": losses.SparseCategoricalCrossentropy,
    "MeanSquaredError": losses.MeanSquaredError, "Huber": losses.Huber,
}
NAMES = {
    losses.MeanSquaredError: "mean_squared_error", losses.MeanAbsoluteError: "mean_absolute_error",
    losses.Huber: "huber_loss", losses.BinaryCrossentropy: "binary_crossentropy",
    losses.CategoricalCrossentropy: "categorical_crossentropy",
    losses.SparseCategoricalCrossentropy: "sparse_categorical_crossentropy",
}


@pytest.mark.parametrize("ident,cls", IDS.items())
def test_string_ids_give_the_loss_with_keras_defaults(ident, cls):
    loss = losses.get(ident)
    assert type(loss) is cls
    assert loss.name == NAMES[cls]
    assert loss.reduction == "sum_over_batch_size"
    if hasattr(loss, "from_logits"):
        assert loss.from_logits is False


def test_get_passes_instances_through_and_instantiates_classes():
    loss = losses.Huber(2.0)
    assert losses.get(loss) is loss
    assert type(losses.get(losses.BinaryCrossentropy)) is losses.BinaryCrossentropy


@pytest.mark.parametrize("loss", [
    losses.MeanSquaredError(reduction="sum", name="my_mse"),
    losses.MeanAbsoluteError(),
    losses.Huber(delta=0.5, reduction=None),
    losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    losses.CategoricalCrossentropy(label_smoothing=0.2, axis=1, reduction="sum"),
    losses.SparseCategoricalCrossentropy(from_logits=True, name="sce"),
])
def test_serialize_round_trips(loss):
    config = losses.serialize(loss)
    assert config["class_name"] == type(loss).__name__
    assert config == losses.serialize(losses.get(config))
    again = losses.deserialize(config)
    assert type(again) is type(loss) and again.get_config() == loss.get_config()
    assert type(loss).from_config(loss.get_config()).get_config() == loss.get_config()


def test_get_accepts_snake_case_class_names_in_configs():
    loss = losses.get({"class_name": "huber", "config": {"delta": 3.0}})
    assert isinstance(loss, losses.Huber) and loss.delta == 3.0


def test_unknown_ids_and_bad_types_raise():
    with pytest.raises(ValueError, match="Unknown loss: 'msee'"):
        losses.get("msee")
    with pytest.raises(ValueError, match="Unknown loss: 'cross_entropy'"):
        losses.get("cross_entropy")
    with pytest.raises(ValueError, match="Invalid loss config"):
        losses.get({"class_name": "Nope", "config": {}})
    with pytest.raises(TypeError, match="Invalid loss"):
        losses.get(3)
    with pytest.raises(TypeError, match="Invalid loss"):
        losses.get(None)
    with pytest.raises(TypeError):
        losses.serialize("mse")

    class Custom(losses.MeanSquaredError):
        pass

    spec = losses.serialize(Custom())  # written as Keras writes it: class and module names
    assert spec["class_name"] == "Custom" and spec["module"] == __name__
    with pytest.raises(ValueError, match="custom_objects"):
        losses.deserialize(spec)  # a class local to a function is in no module
    with ks.saving.custom_object_scope({"Custom": Custom}):
        assert type(losses.deserialize(spec)) is Custom


def test_error_message_lists_the_valid_ids():
    with pytest.raises(ValueError) as info:
        losses.get("nope")
    for ident in ("mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy",
                  "sparse_categorical_crossentropy"):
        assert repr(ident) in str(info.value)


@pytest.mark.parametrize("make", [
    lambda: losses.MeanSquaredError(reduction="mean_of_everything"),
    lambda: losses.MeanSquaredError(reduction="SUM"),
    lambda: losses.BinaryCrossentropy(reduction=1),
    lambda: losses.Huber(delta=0),
    lambda: losses.Huber(delta=-1.0),
    lambda: losses.Huber(delta="1"),
    lambda: losses.BinaryCrossentropy(label_smoothing=1.5),
    lambda: losses.CategoricalCrossentropy(label_smoothing=-0.1),
])
def test_bad_hyperparameters_raise_value_error(make):
    with pytest.raises(ValueError, match="Invalid"):
        make()


@pytest.mark.parametrize("make", [
    lambda: losses.BinaryCrossentropy(from_logits="yes"),
    lambda: losses.CategoricalCrossentropy(axis=1.0),
    lambda: losses.MeanSquaredError(name=3),
])
def test_bad_argument_types_raise_type_error(make):
    with pytest.raises(TypeError, match="Invalid"):
        make()


@pytest.mark.parametrize("loss,y_true,y_pred", [
    (losses.MeanSquaredError(), torch.zeros(4), torch.zeros(4, 2)),
    (losses.MeanSquaredError(), torch.zeros(4, 1), torch.zeros(4, 2)),
    (losses.MeanAbsoluteError(), torch.zeros(3, 1), torch.zeros(4, 1)),
    (losses.Huber(), torch.zeros(2, 4), torch.zeros(4, 2)),
    (losses.BinaryCrossentropy(), torch.zeros(4, 1, 1), torch.zeros(4)),
    (losses.CategoricalCrossentropy(), torch.zeros(4), torch.zeros(4, 3)),
    (losses.CategoricalCrossentropy(), torch.zeros(4, 2), torch.zeros(4, 3)),
    (losses.SparseCategoricalCrossentropy(), torch.zeros(4, 3), torch.zeros(4, 3)),
    (losses.SparseCategoricalCrossentropy(), torch.zeros(5), torch.zeros(4, 3)),
    (losses.SparseCategoricalCrossentropy(), torch.zeros(4), torch.zeros(4)),
    (losses.CategoricalCrossentropy(), torch.zeros(4), torch.zeros(4)),
    (losses.CategoricalCrossentropy(axis=0), torch.zeros(4, 3), torch.zeros(4, 3)),
    (losses.CategoricalCrossentropy(axis=2), torch.zeros(4, 3), torch.zeros(4, 3)),
])
def test_incompatible_shapes_raise_value_error(loss, y_true, y_pred):
    with pytest.raises(ValueError, match="Loss '"):
        loss(y_true, y_pred)
    with pytest.raises(ValueError, match="Loss '"):
        loss.forward(y_true, y_pred)


@pytest.mark.parametrize("weight", [torch.ones(3), torch.ones(4, 2), torch.ones(2, 2)])
def test_bad_sample_weight_shapes_raise(weight):
    with pytest.raises(ValueError, match="Invalid sample_weight"):
        losses.MeanSquaredError()(torch.zeros(4, 2), torch.zeros(4, 2), sample_weight=weight)


def test_column_and_flat_targets_are_interchangeable():
    gen = torch.Generator().manual_seed(0)
    y_pred = torch.rand(6, 1, generator=gen, dtype=F64)
    y = (torch.rand(6, generator=gen) > 0.5).to(F64)
    for loss in (losses.MeanSquaredError(), losses.BinaryCrossentropy()):
        flat_value, flat_backward = loss.forward(y, y_pred)
        col_value, col_backward = loss.forward(y[:, None], y_pred)
        assert flat_value.item() == col_value.item()
        assert flat_backward().shape == (6, 1)
        torch.testing.assert_close(flat_backward(), col_backward())
        # and with 1-D predictions against column targets
        value, backward = loss.forward(y[:, None], y_pred[:, 0])
        assert value.item() == flat_value.item() and backward().shape == (6,)


def test_integer_targets_are_cast_to_the_prediction_dtype():
    y_int = torch.tensor([[0], [1], [1]])
    y_pred = torch.tensor([[0.2], [0.7], [0.4]], dtype=torch.float32)
    for loss in (losses.MeanSquaredError(), losses.BinaryCrossentropy()):
        value = loss(y_int, y_pred)
        assert value.dtype == torch.float32
        assert value.item() == pytest.approx(loss(y_int.float(), y_pred).item())
    value, backward = losses.SparseCategoricalCrossentropy(True).forward(
        torch.tensor([0.0, 2.0]), torch.zeros(2, 3, dtype=torch.float32))
    assert value.dtype == torch.float32 and backward().dtype == torch.float32
    assert value.item() == pytest.approx(np.log(3))
    sparse_int32 = losses.SparseCategoricalCrossentropy(True)(
        torch.tensor([0, 2], dtype=torch.int32), torch.zeros(2, 3, dtype=F64))
    assert sparse_int32.item() == pytest.approx(np.log(3))


def test_numpy_inputs_work_in_call():
    y_true = np.array([[0.0], [1.0]])
    y_pred = np.array([[0.5], [0.5]])
    assert losses.MeanSquaredError()(y_true, y_pred).item() == pytest.approx(0.25)
    assert losses.MeanSquaredError()(y_true, torch.tensor(y_pred), np.array([1.0, 0.0])).item() \
        == pytest.approx(0.125)


def test_value_is_a_zero_dim_tensor_in_the_prediction_dtype():
    for dtype in (torch.float32, F64):
        y_pred = torch.full((3, 2), 0.5, dtype=dtype)
        for loss in (losses.MeanSquaredError(), losses.Huber(),
                     losses.CategoricalCrossentropy(),
                     losses.BinaryCrossentropy(from_logits=True)):
            value, backward = loss.forward(torch.ones(3, 2), y_pred)
            assert value.shape == () and value.dtype == dtype
            assert backward().dtype == dtype and backward().shape == (3, 2)


def test_loss_does_not_modify_its_inputs():
    gen = torch.Generator().manual_seed(1)
    y_pred = torch.randn(4, 3, generator=gen, dtype=F64)
    y_true = torch.softmax(torch.randn(4, 3, generator=gen, dtype=F64), -1)
    w = torch.rand(4, generator=gen, dtype=F64)
    saved = (y_pred.clone(), y_true.clone(), w.clone())
    for loss in (losses.MeanSquaredError(), losses.MeanAbsoluteError(), losses.Huber(),
                 losses.BinaryCrossentropy(True), losses.BinaryCrossentropy(),
                 losses.CategoricalCrossentropy(True), losses.CategoricalCrossentropy()):
        pred = y_pred if getattr(loss, "from_logits", True) else torch.softmax(y_pred, -1)
        pred_saved = pred.clone()
        _, backward = loss.forward(y_true, pred, sample_weight=w)
        backward()
        assert torch.equal(pred, pred_saved)
    assert all(torch.equal(a, b) for a, b in zip((y_pred, y_true, w), saved))
