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

Layers that reduce across ranks inside the step (BatchNormalization(synchronized=True)) reach the
step's Strategy with `step_strategy()`: the one given to `global_batch(..., strategy=s)`, else the
connected Strategy of the current distribution (the one the trainer's StepSync uses), and None
outside a step or in one process. Such a layer's collectives must be joined by EVERY rank, so a
trainer that lets them in runs forward and backward on an empty share too (0 rows, zero upstream
gradient) and says so with `global_batch(..., empty_shares_run=True)` or
`run_empty_shares(True)`; without that promise the layer refuses a global batch that leaves a rank
empty (n < world_size) with a clear error instead of mismatching collectives.
"""

import contextlib

_state = {"share": None, "strategy": None, "empty_shares_run": False}


@contextlib.contextmanager
def global_batch(lo: int, hi: int, n: int, strategy=None, empty_shares_run=None):
    """Rows lo:hi of a global batch of n rows are this rank's, inside the block; `strategy`: the
    step's Strategy (default: the current distribution's); `empty_shares_run`: see the module."""
    if not 0 <= lo <= hi <= n:
        raise ValueError(f"Invalid share: expected 0 <= lo <= hi <= n, received lo={lo}, hi={hi}, "
                         f"n={n}")
    if empty_shares_run is not None and not isinstance(empty_shares_run, bool):
        raise TypeError(f"Invalid empty_shares_run: expected None or a bool, received "
                        f"{empty_shares_run!r}")
    previous = dict(_state)
    _state["share"], _state["strategy"] = (lo, hi, n), strategy
    if empty_shares_run is not None:
        _state["empty_shares_run"] = empty_shares_run
    try:
        yield
    finally:
        _state.update(previous)


def run_empty_shares(enabled: bool) -> None:
    """The trainer's promise that an empty share still runs forward and backward (0 rows)."""
    if not isinstance(enabled, bool):
        raise TypeError(f"Invalid enabled: expected a bool, received {enabled!r}")
    _state["empty_shares_run"] = enabled


def empty_shares_run() -> bool:
    return _state["empty_shares_run"]


def step_strategy():
    """The Strategy of the data-parallel step in progress, or None (outside a step, or alone)."""
    if _state["share"] is None:
        return None
    strategy = _state["strategy"]
    if strategy is None:
        from .current import distribution

        current = distribution()
        strategy = getattr(current, "_strategy", None)  # connected by the trainer for this fit
    return strategy if strategy is not None and strategy.world_size > 1 else None


def needs_every_rank(layers) -> bool:
    """True when one of `layers` (a model's layers, nested ones included) reduces across ranks in
    its forward and backward: then every rank must run every step, even on an empty share."""
    return any(getattr(layer, "synchronized", False) is True for layer in layers)


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
