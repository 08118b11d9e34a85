"""Models: `Model` (training API), `Sequential`, and saving / loading."""

from .model import Model, NotCompiledError
from .saving import load_model
from .sequential import Sequential

__all__ = ["Model", "NotCompiledError", "Sequential", "load_model"]
