"""Crash-safe saving and code-free loading of checkpoint files.

`atomic_save` writes to a temporary file in the target folder, flushes it to disk, then renames it
over the target (`os.replace` is atomic on POSIX and Windows): a reader, or a run resumed after a
crash, sees the old file or the new one, never half of one. `safe_load` uses
`torch.load(weights_only=True)`, which rebuilds tensors, numbers, strings and containers but never
runs code stored in the file.

A process killed mid-write (kill -9, power loss) cannot remove its temporary file. Each temporary
file is named after its target, host and writer process (`.model.pt.tmp-<host>-<pid>-<random>`),
so the next save into the same folder removes the ones whose writer on this host is gone (for any
target there: a checkpoint series "ckpt-{epoch}.pt" never saves the same name twice): strays never
pile up, and a save in progress in another live process is left alone. (On Windows, where a
process cannot be probed safely, strays are kept.)
"""

import os
import pickle
import socket
import tempfile

import torch

_TMP_TAG = ".tmp-"


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
    remove_stale_temporaries(path)
    prefix = f".{os.path.basename(path)}{_TMP_TAG}{_host()}-{os.getpid()}-"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix)
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


def remove_stale_temporaries(path) -> list:
    """Remove the temporary files `atomic_save` left in `path`'s folder when their writer, a
    process on this host, was killed; returns the names removed."""
    if os.name == "nt":
        return []
    folder = os.path.dirname(os.path.abspath(path))
    tag = f"{_TMP_TAG}{_host()}-"
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if not name.startswith(".") or tag not in name:
            continue
        pid = name.rsplit(tag, 1)[1].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            os.remove(os.path.join(folder, name))
            removed.append(name)
        except FileNotFoundError:  # another save removed it first
            pass
    return removed


def _host() -> str:
    return socket.gethostname().replace("-", "_") or "host"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # a save in progress in another thread of this process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def safe_load(path, map_location="cpu"):
    """Load a file written by `atomic_save` without executing code from it."""
    return torch.load(check_filepath(path), map_location=map_location, weights_only=True)


def load_plain(path, writer: str):
    """`safe_load`, with a ValueError naming the file when it is not a plain-data file (`writer`
    says what writes such files, e.g. "model.save"): never torch's advice to set
    weights_only=False, which would let the file run code."""
    path = check_filepath(path)
    try:
        return safe_load(path)
    except pickle.UnpicklingError as e:
        if "weights_only" not in str(e):  # not refused for safety: not a torch.save file at all
            raise _not_plain(path, writer, e) from e
        raise ValueError(f"Refused to load {path}: it holds objects other than tensors and plain "
                         f"data, and loading those could run code. kerasette reads only files "
                         f"written by {writer}") from None
    except OSError:  # a missing file or folder, no permission: as the OS says
        raise
    except Exception as e:  # torch.load's errors for other bytes: KeyError, RuntimeError...
        raise _not_plain(path, writer, e) from e


def _not_plain(path, writer, error) -> ValueError:
    return ValueError(f"Invalid file {path}: not a file written by {writer} (torch.load failed: "
                      f"{type(error).__name__}: {error})")
