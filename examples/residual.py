"""Residual MLPs (seed 002's ResNet-like modules) built three ways, against the plain MLP.

Seed 002 composed "ResNet-like" modules from other modules with hand-written backward passes. Here a
residual block is h + Dense(Dense(h)) (the skip connection adds the block's input to its output, so
the gradient reaches early layers through the identity path too), and a model is a stem Dense, a few
blocks and a head. The same network is written three ways, all run by the one graph executor:

  functional   ks.Input, layer calls, `h + block(h)`, ks.Model(inputs, outputs)
  subclassed   a ks.Model subclass whose call() uses a composite ResidualBlock layer
  nested       each block a small Sequential model, called inside a functional model

Started from the same weights and seed, the three train to identical weights (checked and printed).
Each is compared with the plain MLP of the same width and depth (the same layers without the skips),
on the seeds' disk task and on scikit-learn's 8x8 digits.

    python examples/residual.py                 # 5 seeds each
    python examples/residual.py --seeds 2 --epochs 20
"""

import time

import numpy as np
import torch
from _common import (
    limit_threads,
    make_disk_data,
    mean_std,
    print_table,
    seeds_parser,
    split_and_standardise,
)

import kerasette as ks


# ----- the three ways to write one residual network -----------------------------------------------
def functional_resnet(n_in, n_out, width, blocks, out_act):
    inputs = ks.Input((n_in,))
    h = ks.layers.Dense(width, activation="relu")(inputs)
    for _ in range(blocks):
        inner = ks.layers.Dense(width, activation="relu")(h)
        h = h + ks.layers.Dense(width)(inner)          # the skip connection: an Add node
    return ks.Model(inputs, ks.layers.Dense(n_out, activation=out_act)(h))


class ResidualBlock(ks.layers.Layer):
    """h -> h + Dense(Dense(h)): a composite layer, its call() traced once into a graph."""

    def __init__(self, width, **kwargs):
        super().__init__(**kwargs)
        self.inner = ks.layers.Dense(width, activation="relu")
        self.outer = ks.layers.Dense(width)

    def call(self, inputs, training=False):
        return inputs + self.outer(self.inner(inputs))


class SubclassedResNet(ks.Model):
    def __init__(self, n_out, width, blocks, out_act):
        super().__init__()
        self.stem = ks.layers.Dense(width, activation="relu")
        self.blocks = [ResidualBlock(width) for _ in range(blocks)]
        self.head = ks.layers.Dense(n_out, activation=out_act)

    def call(self, inputs, training=False):
        h = self.stem(inputs)
        for block in self.blocks:
            h = block(h)
        return self.head(h)


def nested_resnet(n_in, n_out, width, blocks, out_act):
    inputs = ks.Input((n_in,))
    h = ks.layers.Dense(width, activation="relu")(inputs)
    for _ in range(blocks):
        block = ks.Sequential([ks.Input((width,)), ks.layers.Dense(width, activation="relu"),
                               ks.layers.Dense(width)])
        h = ks.layers.Add()([h, block(h)])              # a model used as a layer
    return ks.Model(inputs, ks.layers.Dense(n_out, activation=out_act)(h))


def plain_mlp(n_in, n_out, width, blocks, out_act):
    layers = [ks.Input((n_in,)), ks.layers.Dense(width, activation="relu")]
    for _ in range(blocks):
        layers += [ks.layers.Dense(width, activation="relu"), ks.layers.Dense(width)]
    return ks.Sequential(layers + [ks.layers.Dense(n_out, activation=out_act)])


def build(kind, n_in, n_out, width, blocks, out_act):
    if kind == "subclassed":
        model = SubclassedResNet(n_out, width, blocks, out_act)
        model.build((None, n_in))
        return model
    return {"functional": functional_resnet, "nested": nested_resnet,
            "plain MLP": plain_mlp}[kind](n_in, n_out, width, blocks, out_act)


# ----- the tasks ---------------------------------------------------------------------------------
def disk_task(seed):
    gen = torch.Generator().manual_seed(seed)
    x_train, y_train = make_disk_data(1000, gen)
    x_test, y_test = make_disk_data(1000, gen)
    return dict(data=((x_train - 0.5) * 2, y_train, (x_test - 0.5) * 2, y_test), n_in=2, n_out=1,
                out_act="sigmoid", loss="binary_crossentropy")


def digits_task(seed):
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return dict(data=split_and_standardise(x, y, test_size=0.25, seed=seed), n_in=64, n_out=10,
                out_act="softmax", loss="sparse_categorical_crossentropy")


KINDS = ("functional", "subclassed", "nested", "plain MLP")


def run_seed(task, seed, width, blocks, epochs, batch_size):
    """Test accuracy of each kind; the residual kinds start from the functional model's weights."""
    results, weights, shuffle, finals = {}, None, None, {}
    for kind in KINDS:
        ks.utils.set_random_seed(seed)
        model = build(kind, task["n_in"], task["n_out"], width, blocks, task["out_act"])
        if kind in ("subclassed", "nested"):
            model.set_weights(weights)               # same layers, same order: same network
            model.set_rng_state({"shuffle": shuffle})  # and the same batches
        elif kind == "functional":
            weights, shuffle = model.get_weights(), model.get_rng_state()["shuffle"]
        model.compile(optimizer=ks.optimizers.Adam(1e-3), loss=task["loss"],
                      metrics=["accuracy"])
        x_train, y_train, x_test, y_test = task["data"]
        model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0)
        results[kind] = float(model.evaluate(x_test, y_test, verbose=0)[1])
        finals[kind] = model.get_weights()
    same = all(all(np.array_equal(a, b) for a, b in zip(finals["functional"], finals[k]))
               for k in ("subclassed", "nested"))
    return results, same


def main(argv=None):
    parser = seeds_parser(__doc__, seeds=5, epochs=60, batch_size=32)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--blocks", type=int, default=3)
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    rows, all_same = [], True
    for name, make in (("disk (seeds' task)", disk_task), ("digits 8x8", digits_task)):
        scores = {k: [] for k in KINDS}
        start = time.perf_counter()
        for seed in range(args.seeds):
            results, same = run_seed(make(seed), seed, args.width, args.blocks, args.epochs,
                                     args.batch_size)
            all_same &= same
            for k, v in results.items():
                scores[k].append(v)
        cells = [name]
        for k in KINDS:
            mean, std = mean_std(scores[k])
            cells.append(f"{mean:.2%} ± {std:.2%}")
        cells.append(f"{time.perf_counter() - start:.0f} s")
        rows.append(cells)
    print(f"width {args.width}, {args.blocks} residual blocks, Adam 1e-3, {args.epochs} epochs, "
          f"batch {args.batch_size}; test accuracy, mean ± std over {args.seeds} seed(s)")
    print_table(["task", *KINDS, "time"], rows)
    print(f"functional, subclassed and nested builds end with identical weights: "
          f"{'yes' if all_same else 'NO'}")
    return rows, all_same


if __name__ == "__main__":
    main()
