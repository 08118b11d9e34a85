"""Which rows of a global batch each rank takes.

A global batch of n rows is cut into `world_size` contiguous shares, rank order, sizes differing by at
most one (the first n % world_size ranks take one row more). Shares may be empty (n < world_size):
that rank still joins every collective, with zeros.

    n = 10, world_size = 3  ->  rank 0: rows [0, 4), rank 1: [4, 7), rank 2: [7, 10)
"""

import numbers


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"Invalid {name}: expected an int >= {minimum}, received {value!r}")
    return int(value)


def shard_bounds(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """(lo, hi): rows lo:hi of a batch of `n` rows belong to `rank` of `world_size`.

    lo = rank * (n // w) + min(rank, n % w); hi = lo + n // w + (1 if rank < n % w else 0).
    Over all ranks the shares cover rows 0..n-1 exactly once, in rank order.
    """
    n = _check_int(n, "n", 0)
    world_size = _check_int(world_size, "world_size", 1)
    rank = _check_int(rank, "rank", 0)
    if rank >= world_size:
        raise ValueError(f"Invalid rank: expected an int in [0, {world_size}), received {rank}")
    base, extra = divmod(n, world_size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


def shard_sizes(n: int, world_size: int) -> list[int]:
    """Rows of every rank's share of a batch of `n` rows, in rank order."""
    return [hi - lo for lo, hi in (shard_bounds(n, r, world_size) for r in range(world_size))]
