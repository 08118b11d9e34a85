"""The rule for targets whose shape differs from the output's (README, where kerasette differs).

Keras 3.15 (losses/loss.py squeeze_or_expand_to_same_rank, then broadcasting in the loss): a trailing
axis of size 1 is added or dropped when the ranks differ by one, then anything broadcastable runs.
kerasette keeps the first half and refuses the broadcast: checked with Keras 3.15 (torch backend),
y (N, 1) against a Dense(10) mse output trains on the label repeated 10 times, and y (N,) fails with
a batch-size-dependent size error (or, when the batch size equals the units, broadcasts along the
batch axis).
"""

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

import kerasette as ks
from kerasette.layers import Dense, Reshape
from kerasette.models.targets import match_trailing_one


def model(units=1, out_shape=None, loss="mse"):
    layers = [ks.Input((3,)), Dense(units)]
    if out_shape is not None:
        layers.append(Reshape(out_shape))
    m = ks.Sequential(layers)
    m.compile(optimizer="sgd", loss=loss)
    return m


X = torch.randn(12, 3, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("y_shape, units, out_shape", [
    ((12,), 1, None),          # (N,) -> (N, 1)
    ((12, 1), 1, None),        # same
    ((12, 4, 1), 4, None),     # (N, 4, 1) -> (N, 4): squeeze
    ((12, 4), 4, (4, 1)),      # (N, 4) -> (N, 4, 1): expand
])
def test_a_trailing_axis_of_size_one_is_added_or_dropped(y_shape, units, out_shape):
    y = torch.rand(y_shape, generator=torch.Generator().manual_seed(1))
    m = model(units, out_shape)
    twin = model(units, out_shape)
    twin.set_weights(m.get_weights())
    same = y.reshape(12, *m.output_shape[1:])
    loss = m.fit(X, y, epochs=2, batch_size=5, shuffle=False, verbose=0).history["loss"]
    ref = twin.fit(X, same, epochs=2, batch_size=5, shuffle=False, verbose=0).history["loss"]
    assert loss == ref  # exactly the same training as the reshaped labels
    assert m.evaluate(X, y, verbose=0) == pytest.approx(twin.evaluate(X, same, verbose=0))


def test_match_trailing_one_is_a_view():
    y = torch.rand(5, 3, 1)
    assert match_trailing_one(y, (3,)).data_ptr() == y.data_ptr()
    assert match_trailing_one(torch.rand(5), (1,)).shape == (5, 1)
    assert match_trailing_one(torch.rand(5, 2), (3,)).shape == (5, 2)  # left for the caller


def test_one_label_per_sample_against_many_outputs_is_refused_with_the_fix():
    m = model(10)
    for y in (np.random.rand(12), np.random.rand(12, 1)):
        with pytest.raises(ValueError, match=r"(?s)expected shape \(N, 10\).*received shape "
                                             r"\(12,( 1)?\).*1 unit.*10 columns.*sparse_categ"):
            m.fit(X, y, verbose=0)
    assert m.optimizer.iterations == 0  # refused before any step


def test_categorical_labels_get_the_class_label_fix():
    m = model(4, loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy.*to_categorical\(y, "
                                         r"num_classes=4\)"):
        m.fit(X, np.arange(12) % 4, verbose=0)


def test_same_number_of_values_suggests_reshape_and_other_mismatches_name_the_layer():
    m = model(6, out_shape=(2, 3))
    with pytest.raises(ValueError, match=r"holds 6 values per sample: reshape it to \(N, 2, 3\)"):
        m.fit(X, np.random.rand(12, 6), verbose=0)
    with pytest.raises(ValueError, match=r"received shape \(12, 5\); change the last layer's"):
        model(3).fit(X, np.random.rand(12, 5), verbose=0)


def test_the_rule_also_holds_for_dataset_batches_after_the_first():
    data = TensorDataset(X, torch.rand(12, 4, 1))
    m = model(4)
    m.fit(data, batch_size=5, epochs=1, verbose=0)  # every batch squeezed the same way
