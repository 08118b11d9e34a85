"""The seeds' task: is a point of the unit square inside the disk of area 1/2?

1000 training and 1000 test points drawn uniformly in [0, 1]^2; label 1 inside the disk centred at
(0.5, 0.5) of radius 1/sqrt(2*pi), else 0. A 2-25-25-25-1 network trained with kerasette's `fit`.

    python examples/disk.py              # 10 seeds, prints train / test accuracy and the mean
    python examples/disk.py --seeds 3 --epochs 50
    python examples/disk.py --plot       # also disk_predictions.png and disk_curves.png
"""

import time

import torch
from _common import RADIUS, limit_threads, make_disk_data, mean_std, seeds_parser

import kerasette as ks


def standardize(x: torch.Tensor) -> torch.Tensor:
    """Map [0,1]^2 to [-1,1]^2: centred inputs let ReLU units place their kinks anywhere."""
    return (x - 0.5) * 2


def build_model(steps: int) -> ks.Sequential:
    """2-25-25-25-1, ReLU, sigmoid output; Adam whose rate decays to 0 on a cosine over `steps`."""
    model = ks.Sequential([
        ks.Input(shape=(2,)),
        ks.layers.Dense(25, activation="relu"),
        ks.layers.Dense(25, activation="relu"),
        ks.layers.Dense(25, activation="relu"),
        ks.layers.Dense(1, activation="sigmoid"),
    ])
    schedule = ks.optimizers.schedules.CosineDecay(0.01, decay_steps=steps)
    model.compile(optimizer=ks.optimizers.Adam(learning_rate=schedule),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


def run(seed: int, epochs: int = 150, batch_size: int = 32, verbose=0):
    """Train one model from `seed`.

    Returns (model, history, train accuracy, test accuracy, (x_train, y_train, x_test, y_test)).
    """
    ks.utils.set_random_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    x_train, y_train = make_disk_data(1000, gen)
    x_test, y_test = make_disk_data(1000, gen)
    x_train, x_test = standardize(x_train), standardize(x_test)
    model = build_model(steps=epochs * -(-len(x_train) // batch_size))
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                        validation_data=(x_test, y_test), verbose=verbose)
    _, train_acc = model.evaluate(x_train, y_train, verbose=0)
    _, test_acc = model.evaluate(x_test, y_test, verbose=0)
    return model, history, train_acc, test_acc, (x_train, y_train, x_test, y_test)


def main(argv=None):
    parser = seeds_parser(__doc__, seeds=10, epochs=150, batch_size=32, seeds_help="number of seeds",
                          threads_help="torch threads (default 1: the net is tiny; 0 keeps torch's "
                                       "default)")
    parser.add_argument("--plot", action="store_true",
                        help="save disk_predictions.png and disk_curves.png (needs matplotlib)")
    parser.add_argument("--out", default=".", help="folder for the plots")
    args = parser.parse_args(argv)
    limit_threads(args.threads or None)

    print(f"{'seed':>4}  {'train acc':>9}  {'test acc':>8}  {'time':>6}")
    tests, histories = [], []
    for seed in range(args.seeds):
        start = time.perf_counter()
        model, history, train_acc, test_acc, data = run(seed, args.epochs, args.batch_size)
        tests.append(test_acc)
        histories.append(history)
        seconds = time.perf_counter() - start
        print(f"{seed:>4}  {train_acc:>9.2%}  {test_acc:>8.2%}  {seconds:>5.1f}s")
    mean, std = mean_std(tests)
    print(f"mean test accuracy over {len(tests)} seeds: {mean:.2%} (std {std:.2%}); "
          f"seeds' best published: 96%")
    if args.plot:
        from kerasette.plotting import plot_curves_over_seeds, plot_disk_predictions

        _, _, x_test, y_test = data  # the last seed's test set, in the standardised coordinates
        paths = [f"{args.out}/disk_predictions.png", f"{args.out}/disk_curves.png"]
        plot_disk_predictions(model, x_test, y_test, paths[0], true_disk=((0.0, 0.0), 2 * RADIUS))
        plot_curves_over_seeds(histories, paths[1])
        print("wrote " + " and ".join(paths))
    return mean


if __name__ == "__main__":
    main()
