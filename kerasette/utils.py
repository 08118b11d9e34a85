"""Small user-facing helpers: seeding (and, later, plotting a History)."""

from .random_state import set_random_seed

__all__ = ["set_random_seed"]
