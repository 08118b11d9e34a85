"""The seeds' disk task trained data-parallel: the same script on 1 process or N, the same weights.

    python examples/distributed_disk.py                                   # one process
    torchrun --nproc_per_node=2 examples/distributed_disk.py              # two, on this machine
    torchrun --nnodes=2 --nproc_per_node=4 --rdzv-backend=c10d \\
             --rdzv-endpoint=HOST:29500 --rdzv-id=disk examples/distributed_disk.py   # on each machine

Under torchrun kerasette finds WORLD_SIZE / RANK / LOCAL_RANK and uses `ks.distribution.DataParallel()`
(set KERASETTE_DISTRIBUTION=off to make every process train alone). `batch_size` is the global batch;
every process builds the same model and data from the same seed. Only rank 0 prints; the checksum of
the final weights is printed so that runs on 1 and N processes can be compared.

With float64 (`ks.config.set_floatx("float64")` before building) the checksum on N processes equals
the one-process checksum to ~1e-10; in float32 they differ in the last digits (summation order).
"""

import argparse
import time

import torch
from _common import limit_threads, make_disk_data

import kerasette as ks


def build_model() -> ks.Sequential:
    model = ks.Sequential([
        ks.Input(shape=(2,)),
        ks.layers.Dense(25, activation="relu"),
        ks.layers.Dense(25, activation="relu"),
        ks.layers.Dense(25, activation="relu"),
        ks.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=ks.optimizers.Adam(learning_rate=0.005), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=32, help="the GLOBAL batch size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    limit_threads(args.threads or None)

    dist = ks.distribution.distribution()
    strategy = dist.connect("cpu") if dist is not None else None
    writer = strategy is None or strategy.is_writer
    say = print if writer else (lambda *a, **k: None)
    say(f"{strategy.world_size if strategy else 1} process(es): {dist or 'no distribution'}")

    ks.utils.set_random_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    x_train, y_train = make_disk_data(1000, gen)
    x_test, y_test = make_disk_data(1000, gen)
    x_train, x_test = (x_train - 0.5) * 2, (x_test - 0.5) * 2
    model = build_model()
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_data=(x_test, y_test), verbose=2 if writer else 0)
    seconds = time.perf_counter() - start
    _, test_acc = model.evaluate(x_test, y_test, verbose=0)
    checksum = float(sum(w.double().sum() for w in map(torch.as_tensor, model.get_weights())))
    say(f"test accuracy {test_acc:.2%} after {len(history.epoch)} epochs in {seconds:.1f} s; "
        f"weights checksum {checksum:.10f}")
    return test_acc, checksum


if __name__ == "__main__":
    main()
