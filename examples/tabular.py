"""Two real tabular data sets that ship with scikit-learn: breast cancer (binary) and wine (3 classes).

The recipe, the same for both: a stratified 75/25 train/test split; features standardised with
the training set's mean and std; `fit` holds out the last 20% of the (already shuffled) training
set as validation; EarlyStopping on val_loss restores the best weights; the test accuracy is
measured once, at the end. Run s uses seed s for both the split and the model (initial weights,
batch order, dropout), so every run is reproducible and the table's mean, std and worst seed
measure the recipe rather than one lucky (or unlucky) test set of 143 or 45 points;
`--split-seed N` fixes the split instead.

    python examples/tabular.py                # 10 runs per data set
    python examples/tabular.py --seeds 3 --split-seed 0
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
from sklearn.datasets import load_breast_cancer, load_wine

import kerasette as ks


def breast_cancer_model(n_features: int) -> ks.Sequential:
    """30 features -> 32 -> 16 -> 1 sigmoid: malignant (0) or benign (1)."""
    model = ks.Sequential([
        ks.Input(shape=(n_features,)),
        ks.layers.Dense(32, activation="relu"),
        ks.layers.Dropout(0.2),
        ks.layers.Dense(16, activation="relu"),
        ks.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=ks.optimizers.Adam(learning_rate=1e-3), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def wine_model(n_features: int) -> ks.Sequential:
    """13 features -> 32 -> 16 -> 3 softmax, on integer labels."""
    model = ks.Sequential([
        ks.Input(shape=(n_features,)),
        ks.layers.Dense(32, activation="relu"),
        ks.layers.Dropout(0.2),
        ks.layers.Dense(16, activation="relu"),
        ks.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=ks.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


DATASETS = {
    "breast cancer (2 classes)": (load_breast_cancer, breast_cancer_model),
    "wine (3 classes)": (load_wine, wine_model),
}


def run_dataset(args, load, build):
    """`run_recipe` on one data set: (the last run's data, the runs)."""
    x, y = load(return_X_y=True)
    return run_recipe(args, lambda split: split_and_standardise(x, y, 0.25, split),
                      lambda: build(x.shape[1]))


def parse_args(argv):
    return parse_seeded(recipe_parser(__doc__, epochs=300, patience=20, batch_size=16), argv)


def main(argv=None):
    """Train on each data set over the seeds, print the table; returns {name: [run dicts]}."""
    args = parse_args(argv)
    limit_threads(args.threads)
    rows, results = [], {}
    for name, (load, build) in DATASETS.items():
        data, runs = run_dataset(args, load, build)
        results[name] = runs
        rows.append(recipe_row(name, data, runs, target=0.95))
    print(f"Standardised features, 20% validation split, EarlyStopping(patience={args.patience}, "
          f"restore_best_weights=True), Adam 1e-3, batch {args.batch_size}; test accuracy over "
          f"{args.seeds} seed(s), {split_note(args)}")
    print_table(RECIPE_HEADERS, rows)
    return results


if __name__ == "__main__":
    main()
