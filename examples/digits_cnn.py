"""A small CNN on the 8x8 handwritten digits that ship with scikit-learn, against digits.py's MLP.

The recipe is digits.py's: the same stratified 75/25 train/test split (seed s for run s), 20% of the
training set held out for validation, EarlyStopping on val_loss with the best weights restored,
test accuracy measured once at the end, Adam 1e-3, batch 32. Only the model differs: the 64 pixels
are an 8x8x1 image (scaled to [0, 1]; a convolution wants the pixels' spatial relations, not
per-pixel standardisation) fed to

    Conv2D(16, 3, same, relu) -> BatchNormalization -> Conv2D(32, 3, same, relu) ->
    BatchNormalization -> MaxPooling2D -> Dropout(0.25) -> Conv2D(64, 3, same, relu) ->
    BatchNormalization -> GlobalAveragePooling2D -> Dropout(0.4) -> Dense(10, softmax)

BatchNormalization uses momentum 0.9, not Keras's default 0.99: with ~34 steps an epoch, moving
statistics at 0.99 still carry most of their initial variance of 1 after several epochs, so the
inference-mode validation loss looks bad early and EarlyStopping stops on it (Keras does the same).

    python examples/digits_cnn.py                # 10 runs
    python examples/digits_cnn.py --seeds 2 --split-seed 0
"""

import numpy as np
from _common import (
    RECIPE_HEADERS,
    limit_threads,
    parse_seeded,
    print_table,
    recipe_parser,
    recipe_row,
    run_recipe,
    split_note,
)
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import kerasette as ks


def digits_cnn(dropout=(0.25, 0.4), learning_rate=1e-3, width=16) -> ks.Sequential:
    L = ks.layers
    model = ks.Sequential([
        ks.Input(shape=(8, 8, 1)),
        L.Conv2D(width, 3, padding="same", activation="relu"),
        L.BatchNormalization(momentum=0.9),
        L.Conv2D(2 * width, 3, padding="same", activation="relu"),
        L.BatchNormalization(momentum=0.9),
        L.MaxPooling2D(),
        L.Dropout(dropout[0]),
        L.Conv2D(4 * width, 3, padding="same", activation="relu"),
        L.BatchNormalization(momentum=0.9),
        L.GlobalAveragePooling2D(),
        L.Dropout(dropout[1]),
        L.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=ks.optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def split_images(x, y, seed: int):
    """digits.py's split (same arguments, so the same test images), as (n, 8, 8, 1) in [0, 1]."""
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, stratify=y, random_state=seed, shuffle=True)
    as_images = [(a / 16.0).astype(np.float32).reshape(-1, 8, 8, 1) for a in (x_train, x_test)]
    return as_images[0], y_train.astype(np.int64), as_images[1], y_test.astype(np.int64)


def parse_args(argv):
    parser = recipe_parser(__doc__, epochs=100, patience=10, batch_size=32)
    parser.add_argument("--width", type=int, default=16, help="filters of the first convolution")
    return parse_seeded(parser, argv)


def main(argv=None):
    """Train over the seeds, print the table; returns the list of run dicts."""
    args = parse_args(argv)
    limit_threads(args.threads)
    x, y = load_digits(return_X_y=True)
    data, runs = run_recipe(args, lambda split: split_images(x, y, split),
                            lambda: digits_cnn(width=args.width))
    print(f"CNN {args.width}-{2 * args.width}-{4 * args.width} filters (3x3, BatchNormalization, "
          f"max pool, dropout, global average pool, softmax), Adam 1e-3, batch {args.batch_size}, "
          f"20% validation split, EarlyStopping(patience={args.patience}, "
          f"restore_best_weights=True); test accuracy over {args.seeds} seed(s), {split_note(args)}")
    print_table(RECIPE_HEADERS, [recipe_row("digits 8x8 (10 classes)", data, runs, target=0.95)])
    return runs


if __name__ == "__main__":
    main()
