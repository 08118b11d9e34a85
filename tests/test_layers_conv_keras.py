"""Against Keras 3 itself (when it is installed): the same layer configs and weights give the same
outputs. Keras runs in a subprocess on its torch backend (so importing it cannot touch this process),
builds each layer, sets the weights we hand it in Keras's layout, and writes its outputs back."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from kerasette import layers

CASES = [
    ("Conv2D", dict(filters=3, kernel_size=(3, 2), strides=2, padding="same"), (2, 7, 6, 2)),
    ("Conv2D", dict(filters=4, kernel_size=2, padding="same", dilation_rate=2, groups=2),
     (1, 5, 5, 4)),
    ("Conv1D", dict(filters=3, kernel_size=4, padding="same", strides=3), (2, 10, 2)),
    ("Conv1D", dict(filters=2, kernel_size=3, padding="causal", dilation_rate=2), (2, 9, 3)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 4, 3, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=2, strides=3, padding="valid"), (1, 3, 3, 2)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, padding="same", strides=2),
     (2, 6, 5, 3)),
    ("SeparableConv2D", dict(filters=4, kernel_size=2, depth_multiplier=2), (2, 5, 5, 3)),
    ("MaxPooling2D", dict(pool_size=3, strides=2, padding="same"), (2, 7, 6, 2)),
    ("AveragePooling2D", dict(pool_size=2, padding="same"), (2, 5, 7, 2)),
    # (AveragePooling1D(3, strides=2, padding="same") on 8 steps is left out: Keras 3.15's torch
    # backend pads that asymmetric case by repeating the edge (last window (6 + 7 + 7) / 3 on
    # arange(8)), while TensorFlow and JAX, and kerasette, average the real entries: (6 + 7) / 2.
    # test_layers_pooling.py holds kerasette to the TensorFlow rule.)
    ("MaxPooling1D", dict(pool_size=2), (2, 9, 3)),
    ("GlobalAveragePooling2D", dict(keepdims=True), (2, 4, 3, 2)),
    ("GlobalMaxPooling1D", dict(), (2, 6, 3)),
    ("UpSampling2D", dict(size=(2, 3), interpolation="bilinear"), (2, 3, 4, 2)),
    ("ZeroPadding2D", dict(padding=((1, 2), (0, 1))), (2, 3, 3, 2)),
    ("Cropping2D", dict(cropping=((1, 0), (1, 2))), (2, 4, 5, 2)),
]

KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np
import keras
cases = json.loads(sys.argv[1])
data = np.load(sys.argv[2])
out = {}
for i, (name, config, shape) in enumerate(cases):
    layer = getattr(keras.layers, name)(**config)
    x = data[f"x{i}"]
    layer.build(x.shape)
    weights = [data[f"w{i}_{j}"] for j in range(len(layer.get_weights()))]
    layer.set_weights(weights)
    out[f"y{i}"] = keras.ops.convert_to_numpy(layer(x))
np.savez(sys.argv[3], **out)
"""


def run_keras(script: str, cases, arrays: dict, tmp_path):
    """Run `script` (argv: the JSON cases, an input .npz of `arrays`, an output .npz) in a
    subprocess with Keras on its torch backend; its output arrays."""
    np.savez(tmp_path / "in.npz", **arrays)
    result = subprocess.run([sys.executable, "-c", script, json.dumps(cases),
                             str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
                            env=dict(os.environ, KERAS_BACKEND="torch"), capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return np.load(tmp_path / "out.npz")


def keras_available():
    env = dict(os.environ, KERAS_BACKEND="torch")
    probe = subprocess.run([sys.executable, "-c", "import keras"], env=env, capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not keras_available(), reason="Keras 3 (torch backend) is not installed")
def test_outputs_equal_keras_3(tmp_path):
    g = torch.Generator().manual_seed(0)
    arrays, ours = {}, []
    for i, (name, config, shape) in enumerate(CASES):
        layer = getattr(layers, name)(**config)
        x = torch.randn(shape, generator=g)
        layer(x)
        weights = [torch.randn(w.shape, generator=g) for w in layer.weights]
        layer.set_weights(weights)
        arrays[f"x{i}"] = x.numpy()
        for j, w in enumerate(weights):
            arrays[f"w{i}_{j}"] = w.numpy()
        ours.append(layer(x).numpy())
    theirs = run_keras(KERAS_SCRIPT, CASES, arrays, tmp_path)
    for i, (name, config, _) in enumerate(CASES):
        np.testing.assert_allclose(ours[i], theirs[f"y{i}"], rtol=1e-5, atol=1e-5,
                                   err_msg=f"{name}({config})")
