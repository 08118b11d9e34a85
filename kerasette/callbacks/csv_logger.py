"""`CSVLogger`: one CSV row per epoch."""

import csv
import os

from .callback import Callback


class CSVLogger(Callback):
    """Stream epoch results to `filename`: a header `epoch,<keys...>` then one row per epoch
    (epoch 0-based, as in Keras), flushed every epoch, so a crash loses no finished epoch.

    Columns are the first epoch's log keys, sorted (Keras's order), plus the model's val_*
    metric names when the model exposes `metrics_names`; a key missing in a later epoch
    (an epoch without validation) is written as "NA", a key that appears only later is dropped.
    `append=True` continues an existing file: its header is kept and its columns reused, so the
    rows of a resumed run line up with the old ones.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)) or not os.fspath(filename):
            raise TypeError(f"Invalid filename for CSVLogger: expected a non-empty path, "
                            f"received {filename!r}")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"Invalid separator for CSVLogger: expected a 1-character string, "
                             f"received {separator!r}")
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = bool(append)
        self.keys = None
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        self._close()
        self.keys, self._writer = None, None
        header = None
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as f:
                header = next(csv.reader(f, delimiter=self.sep), None)
        folder = os.path.dirname(self.filename)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        if header:
            self.keys = header[1:]
            self._writer = csv.writer(self._file, delimiter=self.sep)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._file is None:  # used without on_train_begin (e.g. called by hand)
            self.on_train_begin()
        if self.keys is None:
            self.keys = sorted(logs)
            for name in getattr(self.model, "metrics_names", None) or []:
                if name.startswith("val_") and name not in self.keys:
                    self.keys.append(name)
        if self._writer is None:
            self._writer = csv.writer(self._file, delimiter=self.sep)
            self._writer.writerow(["epoch", *self.keys])
        self._writer.writerow([epoch, *(logs.get(k, "NA") for k in self.keys)])
        self._file.flush()

    def on_train_end(self, logs=None):
        self._close()

    def _close(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()
        self._file = None
