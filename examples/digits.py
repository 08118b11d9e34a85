"""The 8x8 handwritten digits that ship with scikit-learn (1797 images, 10 classes).

The same recipe as examples/tabular.py: a stratified 75/25 train/test split (seed s for run s);
pixels standardised with the training set's per-pixel mean and std (a pixel that is always 0 in
training is only centred); 20% of the shuffled training set held out for validation;
EarlyStopping on val_loss with the best weights restored; test accuracy measured once at the end.
The model is an MLP on the 64 pixels: 64-128-64-10, ReLU, dropout, softmax, sparse categorical
cross-entropy on the integer labels, Adam.

    python examples/digits.py                # 10 runs
    python examples/digits.py --seeds 2 --split-seed 0
"""


from _common import (
    RECIPE_HEADERS,
    limit_threads,
    parse_seeded,
    print_table,
    recipe_parser,
    recipe_row,
    run_recipe,
    split_and_standardise,
    split_note,
)
from sklearn.datasets import load_digits

import kerasette as ks


def digits_model(hidden=(128, 64), dropout=0.2, learning_rate=1e-3) -> ks.Sequential:
    layers = [ks.Input(shape=(64,))]
    for units in hidden:
        layers += [ks.layers.Dense(units, activation="relu"), ks.layers.Dropout(dropout)]
    layers.append(ks.layers.Dense(10, activation="softmax"))
    model = ks.Sequential(layers)
    model.compile(optimizer=ks.optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def parse_args(argv):
    parser = recipe_parser(__doc__, epochs=200, patience=15, batch_size=32)
    parser.add_argument("--dropout", type=float, default=0.2)
    return parse_seeded(parser, argv)


def main(argv=None):
    """Train over the seeds, print the table; returns the list of run dicts."""
    args = parse_args(argv)
    limit_threads(args.threads)
    x, y = load_digits(return_X_y=True)
    data, runs = run_recipe(args, lambda split: split_and_standardise(x, y, 0.25, split),
                            lambda: digits_model(dropout=args.dropout))
    print(f"64-128-64-10 MLP (ReLU, dropout {args.dropout}, softmax), Adam 1e-3, batch "
          f"{args.batch_size}, 20% validation split, EarlyStopping(patience={args.patience}, "
          f"restore_best_weights=True); test accuracy over {args.seeds} seed(s), {split_note(args)}")
    print_table(RECIPE_HEADERS, [recipe_row("digits 8x8 (10 classes)", data, runs, target=0.95)])
    return runs


if __name__ == "__main__":
    main()
