"""Two inputs, two outputs: a functional model with a regression head and a classification head.

A synthetic housing-style task: each sample has 6 numeric features ("features") and a 3-way
neighbourhood one-hot ("area"). The model predicts a price (regression, mse) and whether the house is
expensive (binary cross-entropy on a sigmoid, fused with it), from a shared trunk. Inputs, outputs,
losses, loss weights and metrics are dicts keyed by the Input and output names, as in Keras; History
holds `loss`, `price_loss`, `expensive_loss`, `price_mae`, `expensive_accuracy` (Keras 3's names).

    python examples/two_heads.py
    python examples/two_heads.py --epochs 5
"""

import argparse

import numpy as np
from _common import limit_threads, print_table

import kerasette as ks


def make_data(n: int, seed: int):
    g = np.random.default_rng(seed)
    features = g.normal(size=(n, 6)).astype("float32")
    area = np.eye(3, dtype="float32")[g.integers(0, 3, n)]
    price = (features @ np.array([1.0, -0.5, 0.3, 0.0, 0.8, -0.2], dtype="float32")
             + area @ np.array([-1.0, 0.0, 1.5], dtype="float32")
             + 0.3 * np.sin(3 * features[:, 0]) + 0.1 * g.normal(size=n).astype("float32"))
    expensive = (price > 0.5).astype("float32")
    return {"features": features, "area": area}, {"price": price[:, None],
                                                  "expensive": expensive[:, None]}


def build_model() -> ks.Model:
    features = ks.Input((6,), name="features")
    area = ks.Input((3,), name="area")
    h = ks.layers.Concatenate()([features, area])
    h = ks.layers.Dense(32, activation="relu")(h)
    h = h + ks.layers.Dense(32, activation="relu")(h)      # a residual connection in the trunk
    price = ks.layers.Dense(1, name="price")(h)
    expensive = ks.layers.Dense(1, activation="sigmoid", name="expensive")(h)
    model = ks.Model({"features": features, "area": area},
                     {"price": price, "expensive": expensive})
    model.compile(optimizer=ks.optimizers.Adam(3e-3),
                  loss={"price": "mse", "expensive": "binary_crossentropy"},
                  loss_weights={"price": 1.0, "expensive": 0.5},
                  metrics={"price": ["mae"], "expensive": ["accuracy"]})
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    ks.utils.set_random_seed(args.seed)
    x_train, y_train = make_data(2000, args.seed)
    x_test, y_test = make_data(1000, args.seed + 1)
    model = build_model()
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=32,
                        validation_split=0.2, verbose=0)
    print("History keys:", ", ".join(history.history))
    scores = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    print_table(["metric", "test"], [[k, f"{v:.4f}"] for k, v in scores.items()])
    baseline = float(np.mean((y_test["price"] - y_train["price"].mean()) ** 2))
    print(f"price mse {scores['price_loss']:.4f} vs {baseline:.4f} predicting the mean; "
          f"expensive accuracy {scores['expensive_accuracy']:.2%}")
    return history, scores, baseline


if __name__ == "__main__":
    main()
