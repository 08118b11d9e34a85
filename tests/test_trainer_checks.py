"""Checks the trainer makes before the first step: labels for the focal cross-entropies, and metrics
whose result is not one number."""

import numpy as np
import pytest

import kerasette as ks


def test_focal_cross_entropies_check_their_labels_like_the_cross_entropies():
    x = np.random.default_rng(0).normal(size=(8, 3))
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", ks.losses.BinaryFocalCrossentropy())
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"Invalid y: .*labels in \[0, 1\]"):
        model.fit(x, np.full((8, 1), 3.0), verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(1, activation="softmax")])
    model.compile("sgd", ks.losses.CategoricalFocalCrossentropy())
    with pytest.raises(ValueError, match="one output unit per class"):
        model.fit(x, np.ones((8, 1)), verbose=0)


def test_a_per_class_metric_is_refused_before_training_with_the_fix():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)), np.eye(3)[rng.integers(0, 3, 8)]
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy", metrics=["f1_score"])
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"f1_score.*3 values.*average='macro'"):
        model.fit(x, y, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.compile("adam", "categorical_crossentropy",
                  metrics=[ks.metrics.F1Score(average="macro")])
    assert set(model.fit(x, y, verbose=0).history) == {"loss", "f1_score"}


def test_predict_keeps_only_the_latest_add_loss_values():
    layer = ks.layers.ActivityRegularization(l1=0.1)
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(2), layer])
    model.compile("sgd", "mse")
    model.predict(np.ones((40, 3)), batch_size=4, verbose=0)
    assert len(layer.losses) <= 1  # not one per batch forever
