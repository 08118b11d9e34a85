"""Small user-facing helpers: seeding and plotting a History."""

from .plotting import plot_history
from .random_state import set_random_seed

__all__ = ["plot_history", "set_random_seed"]
