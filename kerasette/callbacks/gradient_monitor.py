"""`GradientMonitor`: per-layer gradient norms and update-to-weight ratios in the epoch logs.

    monitor = ks.callbacks.GradientMonitor()
    history = model.fit(x, y, epochs=20, callbacks=[monitor])
    history.history["grad_norm/dense"]       # ||dL/dW|| of layer "dense", one value per epoch
    history.history["update_ratio/dense"]    # ||W_after - W_before|| / ||W_before||

For each epoch it samples ONE training batch, the epoch's first:

    grad_norm/<layer>     = sqrt(sum over the layer's trainable weights of ||dW||^2)
                            read in `on_backward_end` (gradients computed, step not yet applied;
                            before any clipping the optimizer does)
    update_ratio/<layer>  = ||W_after - W_before|| / ||W_before||   (W: all the layer's trainable
                            weights laid end to end; W_after is read when the next batch's backward
                            ends, or at the end of the epoch)

A healthy update ratio is often quoted around 1e-3 per step: much smaller and the layer hardly
learns, much larger and it thrashes. Keys go into the epoch logs, so History, CSVLogger, the progress
bar and TensorBoard (as `epoch_grad_norm/<layer>`) all see them; callbacks run in list order (History
and the progress bar last), so put GradientMonitor before CSVLogger and TensorBoard in the list.

Cost: on the sampled batch, one fused norm over the gradient views (all layers at once) and one
copy of the flat parameters; on the next batch, one subtraction and two fused norms. The values stay
on the device until the epoch ends (one read then). The other batches cost one Python call each
(`on_backward_end`); without a GradientMonitor nothing at all is added to the loop.
"""

import torch

from .callback import Callback


def weight_norms(tensors) -> torch.Tensor:
    """L2 norm of each tensor in `tensors`, stacked: one fused kernel (torch's `_foreach_norm`,
    the op `clip_grad_norm_` uses). Readable twin: `weight_norms_readable`."""
    tensors = list(tensors)
    if not tensors:
        return torch.zeros(0)
    return torch.stack(torch._foreach_norm(tensors))


def weight_norms_readable(tensors) -> torch.Tensor:
    """The readable twin of `weight_norms`: sqrt(sum(t^2)) of each tensor, one at a time."""
    return torch.stack([t.square().sum().sqrt() for t in tensors])


class LayerNorms:
    """Groups a model's trainable weights by layer and turns per-weight norms into per-layer ones.

    `layer_norms(tensors)` takes one tensor per trainable weight (same order as `weights`) and
    returns a tensor of per-layer norms sqrt(sum of the squared norms of that layer's tensors).
    """

    def __init__(self, model):
        owner = {}
        for layer in model.layers:
            for w in layer.trainable_weights:
                owner.setdefault(id(w), layer.name)
        self.weights = [w for w in model.trainable_weights]
        names, index = [], []
        for w in self.weights:
            name = owner.get(id(w), w.name.rsplit("/", 1)[0])
            if name not in names:
                names.append(name)
            index.append(names.index(name))
        self.names = names
        self._index = index
        self._index_t = None

    def layer_norms(self, tensors) -> torch.Tensor:
        per_weight = weight_norms(tensors)
        if self._index_t is None or self._index_t.device != per_weight.device:
            self._index_t = torch.tensor(self._index, device=per_weight.device)
        sq = torch.zeros(len(self.names), dtype=per_weight.dtype, device=per_weight.device)
        return sq.index_add_(0, self._index_t, per_weight.square()).sqrt_()


class GradientMonitor(Callback):
    """Per-layer gradient norms and update-to-weight ratios in the epoch logs (see module doc).

    Args:
        update_ratio: also log `update_ratio/<layer>` (costs one copy of the parameters per epoch).
        prefix: text before the keys; keys are `<prefix>grad_norm/<layer>` and
            `<prefix>update_ratio/<layer>`.
    """

    def __init__(self, update_ratio: bool = True, prefix: str = ""):
        super().__init__()
        if not isinstance(update_ratio, bool):
            raise TypeError(f"Invalid update_ratio: expected True or False, received "
                            f"{update_ratio!r}")
        if not isinstance(prefix, str):
            raise TypeError(f"Invalid prefix: expected a string, received {prefix!r}")
        self.update_ratio = update_ratio
        self.prefix = prefix
        self._reset()

    def _reset(self) -> None:
        self._groups = None
        self._grad_norms = None    # per-layer gradient norms of the sampled batch (on the device)
        self._before = None        # flat copy of the parameters before the sampled step
        self._ratios = None
        self._sampled = False

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_begin(self, epoch, logs=None):
        self._grad_norms = self._before = self._ratios = None
        self._sampled = False

    def on_backward_end(self, batch, logs=None):
        if self._before is not None:      # the sampled batch's step has been applied since
            self._finish_update()
        if self._sampled:
            return
        self._sampled = True
        if self._groups is None:
            self._groups = LayerNorms(self.model)
        groups = self._groups
        self._grad_norms = groups.layer_norms([w.grad for w in groups.weights])
        if self.update_ratio:
            self._before = [w.value.clone() for w in groups.weights]

    def _finish_update(self) -> None:
        groups, before = self._groups, self._before
        after = [w.value for w in groups.weights]
        deltas = torch._foreach_sub(after, before)
        delta = groups.layer_norms(deltas)
        size = groups.layer_norms(before)
        self._ratios = delta / size.clamp_min(torch.finfo(size.dtype).tiny)
        self._before = None

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or self._grad_norms is None:
            return
        if self._before is not None:      # only one batch this epoch: its step is applied now
            self._finish_update()
        names = self._groups.names
        for name, value in zip(names, self._grad_norms.tolist()):
            logs[f"{self.prefix}grad_norm/{name}"] = value
        if self._ratios is not None:
            for name, value in zip(names, self._ratios.tolist()):
                logs[f"{self.prefix}update_ratio/{name}"] = value
