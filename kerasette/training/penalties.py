"""`Penalties`: what Keras adds to the loss and the step beyond the loss function — weight
regularizers (penalty and gradient), layers' `add_loss` values, and weight constraints applied after
each update. A mixin of `Trainer`; the distributed step and `explain` call the same methods."""

from .structure import _all_layers


class Penalties:
    _regularized = ()   # weights with a regularizer (penalty added to the loss)
    _constrained = ()   # weights with a constraint (applied after each step)
    _loss_layers = ()   # layers that report add_loss values
    _loss_terms = False  # some are the add_loss terms of a traced call() (they train by themselves)

    def _collect_penalties(self) -> None:
        """Weights with regularizers / constraints, and layers that add losses (once per build)."""
        self._regularized = [w for w in self.weights if w.regularizer is not None]
        self._constrained = [w for w in self.weights if w.constraint is not None]
        self._loss_layers = [layer for layer in _all_layers(self._graph_layers())
                             if getattr(type(layer), "adds_loss", False)]
        self._loss_terms = any(getattr(type(layer), "loss_source", False) is True
                               for layer in self._loss_layers)

    def _penalties(self, value, grads: bool = True):
        """Add the regularizers' penalties and the layers' add_loss values to the loss `value`,
        and the regularizers' gradients to the weights' gradients (Keras adds both to the loss)."""
        for w in self._regularized:
            if w.trainable:
                value = value + w.regularizer(w.value)
                if grads:
                    w.grad.add_(w.regularizer.gradient(w.value))
        for layer in self._loss_layers:
            for extra in layer._losses:
                value = value + extra
            layer._losses.clear()
        return value

    def _apply_constraints(self) -> None:
        for w in self._constrained:
            if w.trainable:
                w.value.copy_(w.constraint(w.value))
