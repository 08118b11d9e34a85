"""Training: the compile / fit / evaluate / predict loops, separate from the model's graph."""

from .trainer import NotCompiledError, Trainer

__all__ = ["NotCompiledError", "Trainer"]
