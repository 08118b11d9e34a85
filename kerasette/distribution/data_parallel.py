"""`DataParallel`: Keras 3's name for "the same model on every process, each on its share of the data".

    dp = ks.distribution.DataParallel()            # devices=None: from torchrun's environment
    ks.distribution.set_distribution(dp)           # (automatic under torchrun unless opted out)
    strategy = dp.connect(model_device)            # the trainer's call: joins the process group

Keras 3.16 (`keras/src/distribution/distribution_lib.py`) builds a device mesh for JAX; kerasette runs
one process per device under torchrun instead, so `devices` lists the devices of ONE machine's
processes, indexed by LOCAL_RANK (`["cuda:0", "cuda:1"]`; Keras's "gpu:0" spelling is accepted).
`connect` joins torch.distributed's process group once (gloo on CPU, NCCL on CUDA) with a timeout
that bounds every later collective, so a dead peer turns into an error instead of a hang.
"""

import atexit
import contextlib
import datetime
import numbers
import os

import torch

from .environment import check_rendezvous, read_launch
from .strategy import Strategy

_BACKENDS = ("gloo", "nccl")


def _parse_device(spec, name: str) -> torch.device:
    if isinstance(spec, str) and spec.lower().startswith("gpu"):
        spec = "cuda" + spec[3:]
    try:
        return torch.device(spec)
    except (RuntimeError, TypeError):
        raise ValueError(f"Invalid {name}: expected a device such as 'cpu', 'cuda:0' or 'gpu:0', "
                         f"received {spec!r}") from None


class DataParallel:
    """Data-parallel training over the processes of a torchrun job.

    devices: None (CPU, or `cuda:LOCAL_RANK` when CUDA is available) or a list of devices, one per
        process on this machine, picked by LOCAL_RANK.
    timeout: seconds any collective (and joining the group) may wait for a peer before failing.
    backend: None (gloo for a CPU model, nccl for a CUDA one), "gloo" or "nccl".
    """

    def __init__(self, devices=None, *, timeout=60.0, backend=None):
        if devices is not None:
            if isinstance(devices, str | torch.device) or not isinstance(devices, list | tuple) \
                    or not devices:
                raise ValueError(f"Invalid devices: expected None or a non-empty list of devices, "
                                 f"received {devices!r}")
            devices = [_parse_device(d, f"devices[{i}]") for i, d in enumerate(devices)]
        if isinstance(timeout, datetime.timedelta):
            timeout = timeout.total_seconds()
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not timeout > 0:
            raise ValueError(f"Invalid timeout: expected a positive number of seconds, "
                             f"received {timeout!r}")
        if backend is not None and backend not in _BACKENDS:
            raise ValueError(f"Invalid backend: expected None, 'gloo' or 'nccl', received {backend!r}")
        self.devices = devices
        self.timeout = float(timeout)
        self.backend = backend
        self.launch = read_launch()
        self._strategy: Strategy | None = None

    # Keras's names: num_processes, and the ids of the data shard this process reads.
    @property
    def rank(self) -> int:
        return self.launch.rank

    @property
    def world_size(self) -> int:
        return self.launch.world_size

    num_processes = world_size
    data_shard_id = rank

    @property
    def local_rank(self) -> int:
        return self.launch.local_rank if self.launch.local_rank is not None else 0

    @property
    def device(self) -> torch.device:
        """Where this process's model should live: devices[LOCAL_RANK], else cuda:LOCAL_RANK, else cpu."""
        if self.devices is not None:
            if self.local_rank >= len(self.devices):
                raise ValueError(f"Invalid devices: LOCAL_RANK is {self.local_rank} but only "
                                 f"{len(self.devices)} device(s) were given: {self.devices}")
            return self.devices[self.local_rank]
        if torch.cuda.is_available():
            return torch.device("cuda", self.local_rank % torch.cuda.device_count())
        return torch.device("cpu")

    def __repr__(self):
        return (f"<DataParallel rank={self.rank} world_size={self.world_size} "
                f"timeout={self.timeout:g}s backend={self.backend or 'auto'}>")

    @contextlib.contextmanager
    def scope(self):
        """Make this the current distribution inside the block (Keras's `Distribution.scope`)."""
        from .current import _swap

        previous = _swap(self)
        try:
            yield self
        finally:
            _swap(previous)

    def _backend_for(self, device: torch.device) -> str:
        backend = self.backend or ("nccl" if device.type == "cuda" else "gloo")
        if backend == "nccl" and device.type != "cuda":
            raise ValueError(f"Invalid backend: 'nccl' needs a CUDA model, but the model is on "
                             f"'{device}' (use backend='gloo' or None)")
        if backend == "gloo" and device.type not in ("cpu",):
            raise ValueError(f"Invalid backend: 'gloo' here reduces CPU tensors, but the model is on "
                             f"'{device}' (use backend='nccl' or None)")
        return backend

    def connect(self, device=None) -> Strategy:
        """This process's Strategy for a model on `device` (default: `self.device`).

        The first call joins the process group (every rank must call it; each waits at most
        `timeout` seconds for the others); later calls with the same device reuse it. Everything is
        checked before the process group is touched.
        """
        device = self.device if device is None else _parse_device(device, "device")
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", self.local_rank)
        if self._strategy is not None:
            if self._strategy.device != device:
                raise ValueError(f"Invalid device: this DataParallel is connected on "
                                 f"'{self._strategy.device}', received '{device}' (keep the model on "
                                 f"one device for the whole job)")
            return self._strategy
        backend = self._backend_for(device)
        import torch.distributed as dist

        if self.world_size > 1 and not dist.is_available():
            raise RuntimeError("kerasette.distribution: this torch build has no torch.distributed")
        owns = False
        rank, world_size = self.rank, self.world_size
        if dist.is_available() and dist.is_initialized():  # the user joined the group already
            rank, world_size = dist.get_rank(), dist.get_world_size()
        elif world_size > 1:
            addr, port = check_rendezvous()
            if backend == "nccl":
                torch.cuda.set_device(device)
                os.environ.setdefault("TORCH_NCCL_BLOCKING_WAIT", "1")  # timeouts raise, not abort
            try:
                timeout = datetime.timedelta(seconds=self.timeout)
                dist.init_process_group(backend, store=_attempt_store(rank, world_size, timeout),
                                        rank=rank, world_size=world_size, timeout=timeout)
            except Exception as error:
                raise RuntimeError(
                    f"kerasette.distribution: rank {rank} of {world_size} could not join the process "
                    f"group at {addr}:{port} ({backend}) within {self.timeout:g} s: "
                    f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error) else ''}"
                ) from error
            owns = True
            atexit.register(_leave_group)
        self._strategy = Strategy(rank, world_size, device, self.timeout, owns_group=owns)
        return self._strategy

    def close(self) -> None:
        """Leave the process group this object joined; a later `connect` joins again."""
        if self._strategy is not None:
            self._strategy.close()
        self._strategy = None


def _attempt_store(rank: int, world_size: int, timeout) -> "torch.distributed.Store":
    """The env:// rendezvous store (MASTER_ADDR / MASTER_PORT), its keys prefixed by torchrun's
    attempt number (TORCHELASTIC_RESTART_COUNT).

    torchrun --max-restarts (torch 2.13) keeps one store for all attempts of a job, so a restarted
    worker could read a peer's address left by the attempt before and fail to connect (gloo:
    "connection refused" while joining; pytorch#135712 for NCCL). A prefix per attempt keeps them
    apart. (On several machines this relies on every node's agent counting the same restarts, as
    when all nodes restart together.)
    """
    import torch.distributed as dist

    store, _, _ = next(dist.rendezvous("env://", rank, world_size, timeout=timeout))
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    return dist.PrefixStore(f"kerasette/attempt{attempt}", store)


def _leave_group() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        with contextlib.suppress(Exception):
            dist.destroy_process_group()
