"""The handful of collectives a data-parallel trainer needs, each checked and fault-guarded.

A `Strategy` is this process's seat in the job (`DataParallel.connect(device)` makes it):

    s.rank, s.world_size, s.is_writer            # is_writer: rank 0 writes files and prints
    lo, hi = s.shard_bounds(n)                   # this rank's rows of a global batch of n rows
    s.reduce_step([grads, loss_sum, count, *metric_states, nonfinite, stop])   # ONE all_reduce
    s.broadcast_from_writer(tensors)             # rank 0's values into every rank's tensors
    rows = s.gather_rows(preds)                  # every rank's rows, in rank order
    s.barrier(); s.any_rank(flag)
    s.all_reduce_sum(t)                          # one small tensor, in place (a layer in a step)
    with s.writer_section("CSVLogger") as writing:   # rank 0 runs the body, then all ranks meet
        if writing: ...

Every collective runs under a `CollectiveGuard`: a peer that fails makes it raise a RuntimeError
naming this rank and the operation (within the process group's timeout), and every later collective
refuses at once. Arguments are checked before any collective; a layout that differs between ranks
(a tensor list of another length, rows of another width) is caught by comparing a small header on
every rank first, so each rank raises the same ValueError instead of desynchronising.

With world_size == 1 every collective is a no-op (after the same argument checks).
"""

import contextlib
import functools
import zlib

import torch

from .faults import CollectiveGuard
from .packing import PackingCache, pack_by_dtype, unpack_by_dtype
from .sharding import shard_bounds


def _dist():
    import torch.distributed as dist

    return dist


def _layout_code(items) -> int:
    """A checksum of dtypes and shapes, the same in every process (unlike Python's str hash)."""
    return zlib.crc32(repr(items).encode()) & 0x7FFFFFFF


class Strategy:
    def __init__(self, rank: int, world_size: int, device, timeout: float = 60.0,
                 owns_group: bool = False):
        self.rank, self.world_size = int(rank), int(world_size)
        self.device = torch.device(device)
        self.timeout = float(timeout)
        self.owns_group = owns_group
        self.guard = CollectiveGuard(self.rank, self.world_size, self.timeout)
        self._packings = PackingCache()

    @property
    def is_writer(self) -> bool:
        return self.rank == 0

    def __repr__(self):
        return (f"Strategy(rank={self.rank}, world_size={self.world_size}, device='{self.device}', "
                f"timeout={self.timeout:g})")

    # ---- argument checks (before any collective) ---------------------------------------------

    def _check_tensor(self, t, name: str) -> torch.Tensor:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"Invalid {name}: expected a torch.Tensor, received {type(t).__name__}")
        if t.device != self.device:
            raise ValueError(f"Invalid {name}: expected a tensor on this rank's device "
                             f"'{self.device}', received one on '{t.device}'")
        if t.is_complex():
            raise TypeError(f"Invalid {name}: expected a real or bool tensor, received {t.dtype}")
        return t

    def _check_tensors(self, tensors, what: str) -> list:
        if isinstance(tensors, torch.Tensor) or not isinstance(tensors, list | tuple):
            raise TypeError(f"Invalid tensors for {what}: expected a list of tensors, received "
                            f"{type(tensors).__name__}")
        if not tensors:
            raise ValueError(f"Invalid tensors for {what}: expected at least one tensor, received none")
        for i, t in enumerate(tensors):
            self._check_tensor(t, f"tensors[{i}] for {what}")
        return list(tensors)

    # ---- collectives ---------------------------------------------------------------------------

    def _all_gather_ints(self, values: list[int], what: str) -> list[list[int]]:
        mine = torch.tensor(values, dtype=torch.int64, device=self.device)
        out = [torch.empty_like(mine) for _ in range(self.world_size)]
        with self.guard.running(what):
            _dist().all_gather(out, mine)
        return [o.tolist() for o in out]

    def _agree_on_layout(self, code: int, description: str, what: str) -> None:
        codes = [c[0] for c in self._all_gather_ints([code], f"{what} (layout check)")]
        if len(set(codes)) > 1:
            differ = [r for r, c in enumerate(codes) if c != codes[0]]
            raise ValueError(f"Invalid tensors for {what}: every rank must pass the same dtypes and "
                             f"shapes, but rank(s) {differ} differ from rank 0 (this is rank "
                             f"{self.rank}, passing {description})")

    def shard_bounds(self, n: int) -> tuple[int, int]:
        """(lo, hi): this rank's contiguous rows of a global batch of n rows (maybe empty)."""
        return shard_bounds(n, self.rank, self.world_size)

    def reduce_step(self, tensors, what: str = "reduce_step") -> list:
        """Sum `tensors` over all ranks, in place, with ONE all_reduce of a reused packed buffer.

        The trainer passes, in order: the flat gradient buffer, the loss sum, the sample count, the
        metric state increments, a non-finite flag and a stop flag (see the package docstring).
        A new layout (the first step of fit, of evaluate) is first checked to be the same on every rank.
        """
        if not isinstance(tensors, list | tuple):
            self._check_tensors(tensors, what)
        packing = self._packings.find(tensors)
        if packing is None:
            tensors = self._check_tensors(tensors, what)
            if self.world_size > 1:
                layout = [(str(t.dtype), tuple(t.shape)) for t in tensors]
                self._agree_on_layout(_layout_code(layout), f"{len(tensors)} tensors", what)
            packing = self._packings.add(tensors)
        if self.world_size == 1:
            return tensors
        buffer = packing.pack(tensors)
        with self.guard.running(what):
            _dist().all_reduce(buffer)
        packing.unpack(tensors)
        return tensors

    def all_reduce_sum(self, tensor, what: str = "all_reduce_sum") -> torch.Tensor:
        """Sum one tensor over all ranks, in place, and return it: a layer's small collective inside
        a training step (BatchNormalization(synchronized=True): per-channel sums). Every rank must
        call it at the same point with the same dtype and shape (the same layer of the same model
        guarantees it, so no layout check is spent per call)."""
        self._check_tensor(tensor, f"tensor for {what}")
        if tensor.dtype == torch.bool or not tensor.is_contiguous():
            raise ValueError(f"Invalid tensor for {what}: expected a contiguous numeric tensor, "
                             f"received a {'bool' if tensor.dtype == torch.bool else 'strided'} "
                             f"tensor of shape {tuple(tensor.shape)}")
        if self.world_size == 1:
            return tensor
        with self.guard.running(what):
            _dist().all_reduce(tensor)
        return tensor

    def step_views(self, tensors) -> list:
        """Segments of reduce_step's buffer for this layout, shaped like `tensors` (None where the
        dtype differs): a caller that keeps e.g. its gradients in them is never copied in or out."""
        tensors = self._check_tensors(tensors, "step_views")
        packing = self._packings.find(tensors) or self._packings.add(tensors)
        return packing.views(tensors)

    def broadcast_from_writer(self, tensors, what: str = "broadcast_from_writer") -> list:
        """Overwrite `tensors` on every rank with rank 0's values (weights, state, optimizer slots)."""
        tensors = self._check_tensors(tensors, what)
        if self.world_size == 1:
            return tensors
        layout = [(str(t.dtype), tuple(t.shape)) for t in tensors]
        self._agree_on_layout(_layout_code(layout), f"{len(tensors)} tensors", what)
        wire = [t.view(torch.uint8) if t.dtype == torch.bool else t for t in tensors]
        packed = pack_by_dtype(wire)
        with self.guard.running(what):
            for flat, _ in packed.values():
                _dist().broadcast(flat, src=0)
        unpack_by_dtype(wire, packed)
        return tensors

    def gather_rows(self, tensor, what: str = "gather_rows") -> torch.Tensor:
        """Every rank's rows of `tensor` (first axis), concatenated in rank order, on every rank.

        Shares may differ in length, or be empty; trailing shape and dtype must agree. Shares are
        padded to the longest one for one all_gather, then trimmed.
        """
        self._check_tensor(tensor, f"tensor for {what}")
        if tensor.dim() == 0:
            raise ValueError(f"Invalid tensor for {what}: expected at least one axis (rows), "
                             f"received a 0-d tensor")
        if self.world_size == 1:
            return tensor
        code = _layout_code((str(tensor.dtype), tuple(tensor.shape[1:])))
        header = self._all_gather_ints([tensor.shape[0], code], f"{what} (sizes)")
        if len({c for _, c in header}) > 1:
            differ = [r for r, (_, c) in enumerate(header) if c != header[0][1]]
            raise ValueError(f"Invalid tensor for {what}: every rank must pass rows of the same "
                             f"dtype and trailing shape, but rank(s) {differ} differ from rank 0 "
                             f"(this is rank {self.rank}: {tensor.dtype}, rows of "
                             f"{tuple(tensor.shape[1:])})")
        sizes = [n for n, _ in header]
        longest = max(sizes)
        if longest == 0:
            return tensor
        wire = tensor.view(torch.uint8) if tensor.dtype == torch.bool else tensor.contiguous()
        if wire.shape[0] < longest:
            pad = wire.new_zeros((longest - wire.shape[0], *wire.shape[1:]))
            wire = torch.cat([wire, pad])
        out = [torch.empty_like(wire) for _ in range(self.world_size)]
        with self.guard.running(what):
            _dist().all_gather(out, wire)
        rows = torch.cat([o[:n] for o, n in zip(out, sizes)])
        return rows.view(torch.bool) if tensor.dtype == torch.bool else rows

    def any_rank(self, flag: bool, what: str = "any_rank") -> bool:
        """True on every rank when `flag` is true on at least one (e.g. a stop decided locally)."""
        if self.world_size == 1:
            return bool(flag)
        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        with self.guard.running(what):
            _dist().all_reduce(t)
        return bool(t.item() > 0)

    def barrier(self, what: str = "barrier") -> None:
        """Wait until every rank gets here (an all_reduce of one number: timeout-guarded on any backend)."""
        self.any_rank(False, what)

    @contextlib.contextmanager
    def writer_section(self, what: str = "rank-0 I/O"):
        """Run the body's I/O on rank 0 only (the body gets `writing`), then meet every rank.

            with strategy.writer_section("ModelCheckpoint") as writing:
                if writing:
                    model.save(path)

        The meeting also carries failure: if the body raised on rank 0, it re-raises there and every
        other rank raises a RuntimeError naming it, instead of waiting for a timeout.
        """
        try:
            yield self.is_writer
        except Exception:
            self._meet_after(what, failed=True)
            raise
        self._meet_after(what, failed=False)

    def _meet_after(self, what: str, failed: bool) -> None:
        if self.world_size == 1:
            return
        t = torch.tensor([1.0 if failed else 0.0], device=self.device)
        with self.guard.running(f"the barrier after {what}"):
            _dist().all_reduce(t)
        if not failed and t.item() > 0:
            raise RuntimeError(f"kerasette.distribution: rank {self.rank} of {self.world_size}: "
                               f"{int(t.item())} other rank(s) raised during {what}; see their error")

    def writer_only(self, fn=None, *, what: str | None = None):
        """Decorator: `fn` runs on rank 0 only (returns None elsewhere), then every rank meets."""
        if fn is None:
            return functools.partial(self.writer_only, what=what)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.writer_section(what or getattr(fn, "__qualname__", "rank-0 I/O")) as writing:
                return fn(*args, **kwargs) if writing else None

        return wrapper

    def close(self) -> None:
        """Leave the process group if this strategy created it (a no-op otherwise)."""
        dist = _dist()
        if self.owns_group and dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
        self.owns_group = False
