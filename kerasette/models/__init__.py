"""Models: `Model` (training API), `Sequential`, and saving / loading."""

from .json_config import clone_model, model_from_json
from .model import Model, NotCompiledError
from .saving import load_model
from .sequential import Sequential


def save_model(model, filepath, overwrite: bool = True, **kwargs):
    """`keras.models.save_model(model, filepath)`: same as `model.save(filepath)`."""
    from ..saving import save_model as _save

    _save(model, filepath, overwrite=overwrite, **kwargs)


__all__ = ["Model", "NotCompiledError", "Sequential", "clone_model", "load_model",
           "model_from_json", "save_model"]

# Models are layers too: registered so a model nested in a model is saved and rebuilt by name.
from ..layers import register as _register  # noqa: E402

_register(Model)
_register(Sequential)
