"""kerasette: a Keras-style training API on PyTorch tensors, with every gradient written by hand.

    import kerasette as ks
    model = ks.Sequential([ks.Input((2,)), ks.layers.Dense(25, activation="relu"),
                           ks.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=10)
"""

from . import (
    activations,
    backend,
    callbacks,
    config,
    constraints,
    distribution,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    saving,
    testing,
    utils,
)
from .layers import Input
from .models import Model, Sequential

__version__ = "0.1.0"

__all__ = [
    "Input", "Model", "Sequential", "activations", "backend", "callbacks", "config", "initializers",
    "layers",
    "losses", "metrics", "models", "ops", "optimizers", "testing", "utils", "__version__",
    "constraints", "regularizers",
    "distribution", "saving", "random",
]
