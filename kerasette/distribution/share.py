"""Random layers draw for the GLOBAL batch and keep this rank's rows.

During a data-parallel step the trainer marks which rows of the global batch this rank holds:

    with global_batch(lo, hi, n):          # rows lo:hi of a global batch of n rows
        y, backward = model_forward(x_share, training=True)

and a random layer draws through `draw_rows`:

    u = draw_rows(lambda shape: torch.rand(shape, generator=g), x.shape)

which draws the whole (n, ...) tensor from the generator (in the same state on every rank) and
returns rows lo:hi. A generator fills a tensor in row-major order, so these are exactly the values
the single-process run draws for those rows: the same seed gives the same Dropout masks on 1 or N
ranks (at the price of drawing n rows instead of hi - lo). Outside the block, or for a tensor whose
first axis is not this share, `draw_rows` is just `draw(shape)`.
"""

import contextlib

_state = {"share": None}


@contextlib.contextmanager
def global_batch(lo: int, hi: int, n: int):
    if not 0 <= lo <= hi <= n:
        raise ValueError(f"Invalid share: expected 0 <= lo <= hi <= n, received lo={lo}, hi={hi}, "
                         f"n={n}")
    previous = _state["share"]
    _state["share"] = (lo, hi, n)
    try:
        yield
    finally:
        _state["share"] = previous


def current_share():
    """(lo, hi, n) inside `global_batch`, else None."""
    return _state["share"]


def draw_rows(draw, shape):
    """`draw(shape)`, or inside `global_batch`: draw for all n rows and keep rows lo:hi."""
    share = _state["share"]
    shape = tuple(shape)
    if share is None or not shape or shape[0] != share[1] - share[0]:
        return draw(shape)
    lo, hi, n = share
    return draw((n, *shape[1:]))[lo:hi]
