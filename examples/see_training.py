"""See inside training: the README's pictures for TensorBoard, explain and plot_model, on the disk task.

    python examples/see_training.py                   # docs/explain_disk.png, docs/plot_model_*.png,
                                                      # TensorBoard logs in out/logs
    python examples/see_training.py --screenshot      # also docs/tensorboard.png: starts tensorboard on
                                                      # 127.0.0.1 and takes a headless Chromium shot
    python examples/see_training.py --mlflow          # also logs the run to sqlite:///out/mlflow.db

The network is examples/disk.py's (2-25-25-25-1, ReLU, sigmoid, binary cross-entropy, Adam with a
cosine decay). TensorBoard gets the epoch scalars, GradientMonitor's per-layer gradient norms and
update ratios (as epoch_grad_norm/<layer> and epoch_update_ratio/<layer>), and every 10 epochs the
weight and gradient histograms.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import torch
from _common import limit_threads, make_disk_data
from disk import build_model, standardize

import kerasette as ks


def residual_model():
    """A small functional model with a skip connection, for the second plot_model picture."""
    inputs = ks.Input(shape=(8,), name="features")
    h = ks.layers.Dense(32, activation="relu", name="hidden")(inputs)
    h = ks.layers.Add(name="residual")([h, ks.layers.Dense(32, name="branch")(h)])
    return ks.Model(inputs, ks.layers.Dense(1, activation="sigmoid", name="label")(h))


def train(out: str, epochs: int, use_mlflow: bool):
    ks.utils.set_random_seed(0)
    gen = torch.Generator().manual_seed(0)
    x_train, y_train = make_disk_data(1000, gen)
    x_test, y_test = make_disk_data(1000, gen)
    x_train, x_test = standardize(x_train), standardize(x_test)
    model = build_model(steps=epochs * 32)
    callbacks = [ks.callbacks.GradientMonitor(),
                 ks.callbacks.TensorBoard(os.path.join(out, "logs"), histogram_freq=10)]
    if use_mlflow:
        callbacks.append(ks.callbacks.MLflowLogger(
            tracking_uri=f"sqlite:///{os.path.abspath(out)}/mlflow.db", experiment_name="disk",
            artifact_location=os.path.abspath(os.path.join(out, "mlartifacts"))))
    # explain one batch before training: the step as the network starts
    report = ks.utils.explain(model, x_train[:32], y_train[:32])
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=32,
                        validation_data=(x_test, y_test), callbacks=callbacks, verbose=0)
    return model, report, history


def tensorboard_screenshot(logdir: str, path: str) -> bool:
    """Start tensorboard on 127.0.0.1, screenshot its scalars page with headless Chromium."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or \
        shutil.which("google-chrome")
    if browser is None:
        print("no Chromium found (apt-get install chromium): skipping the screenshot")
        return False
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    server = subprocess.Popen([exe if os.path.exists(exe) else "tensorboard", "--logdir", logdir,
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/data/runs", timeout=5) as r:
                    if b"train" in r.read():
                        break
            except OSError:
                time.sleep(0.5)
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", "--window-size=1400,1060",
                        "--virtual-time-budget=20000", f"--screenshot={path}",
                        url + "/#scalars&tagFilter=epoch_(loss%7Caccuracy%7Cgrad_norm)"],
                       check=True, timeout=180, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return True
    finally:
        server.kill()
        server.wait(timeout=10)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--out", default="out", help="folder for the logs")
    parser.add_argument("--docs", default="docs", help="folder for the pictures")
    parser.add_argument("--screenshot", action="store_true")
    parser.add_argument("--mlflow", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    limit_threads(args.threads or None)
    os.makedirs(args.docs, exist_ok=True)
    shutil.rmtree(os.path.join(args.out, "logs"), ignore_errors=True)

    model, report, history = train(args.out, args.epochs, args.mlflow)
    print(report)
    report.to_png(os.path.join(args.docs, "explain_disk.png"))
    # the matplotlib drawing (what you get without Graphviz), then Graphviz's if dot is installed
    ks.utils.plot_model(model, os.path.join(args.docs, "plot_model_disk.png"), show_shapes=True,
                        show_layer_names=True, show_layer_activations=True, engine="matplotlib")
    ks.utils.plot_model(residual_model(), os.path.join(args.docs, "plot_model_residual.png"),
                        show_shapes=True, show_layer_names=True)
    last = {k: v[-1] for k, v in history.history.items()}
    print(f"\nafter {args.epochs} epochs: val_accuracy {last['val_accuracy']:.3f}; "
          + ", ".join(f"{k} {v:.2e}" for k, v in last.items() if k.startswith("grad_norm/")))
    if args.screenshot:
        tensorboard_screenshot(os.path.join(args.out, "logs"),
                               os.path.join(args.docs, "tensorboard.png"))
    print(f"pictures in {args.docs}/, TensorBoard logs in {args.out}/logs")


if __name__ == "__main__":
    main()
