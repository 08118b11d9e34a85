"""Models: `Model` (training API), `Sequential`, and saving / loading."""

from .model import Model, NotCompiledError
from .saving import load_model
from .sequential import Sequential

__all__ = ["Model", "NotCompiledError", "Sequential", "load_model"]

# Models are layers too: registered so a model nested in a model is saved and rebuilt by name.
from ..layers import register as _register  # noqa: E402

_register(Model)
_register(Sequential)
