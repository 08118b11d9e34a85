"""Crash-safe saving and code-free loading of checkpoint files.

`atomic_save` writes to a temporary file in the target folder, flushes it to disk, then renames it
over the target (`os.replace` is atomic on POSIX and Windows): a reader, or a run resumed after a
crash, sees the old file or the new one, never half of one. `safe_load` uses
`torch.load(weights_only=True)`, which rebuilds tensors, numbers, strings and containers but never
runs code stored in the file.
"""

import os
import tempfile

import torch


def check_filepath(path, name: str = "filepath") -> str:
    """`path` as a str: a non-empty str or os.PathLike; TypeError / ValueError naming `name`."""
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"Invalid {name}: expected a file path (str or os.PathLike), received "
                        f"{type(path).__name__} {path!r:.80}")
    path = os.fspath(path)
    if not isinstance(path, str) or not path:
        raise ValueError(f"Invalid {name}: expected a non-empty file path, received {path!r}")
    return path


def atomic_save(obj, path) -> None:
    """`torch.save(obj, path)`, atomically; creates the parent folder if needed.

    `obj` should hold only tensors, Python numbers/strings/bools/None and lists, tuples and dicts
    of them, so that `safe_load` can read it back (convert NumPy arrays with `torch.from_numpy`).
    """
    path = check_filepath(path)
    if os.path.isdir(path):  # else the temporary file would go to the folder's parent
        raise ValueError(f"Invalid filepath: {path!r} is a folder; expected a file path such as "
                         f"{os.path.join(path, 'model.keras')!r}")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def safe_load(path, map_location="cpu"):
    """Load a file written by `atomic_save` without executing code from it."""
    return torch.load(check_filepath(path), map_location=map_location, weights_only=True)
