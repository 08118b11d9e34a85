"""Keras's masks: which positions of a sequence are padding, carried beside the data.

A mask is a bool tensor of the data's shape without its feature axis, (N, T) for a sequence
(N, T, F): True where the step is real, False where it is padding. As in Keras 3:

- a layer makes one: `Embedding(mask_zero=True)` (index 0 is padding), `Masking(mask_value)` (a step
  whose features all equal mask_value);
- a layer that works step by step passes it on unchanged (`supports_masking = True`: Dense,
  activations, dropout, LayerNormalization...); a merge layer passes on the OR of its inputs'
  masks (None when one input has none), Concatenate and Dot their own rules, as Keras's;
- a layer that must skip padding reads it (`uses_mask = True`, its `forward(x, training, mask=m)`):
  the recurrent layers carry their state over padded steps, GlobalAveragePooling1D averages the
  real steps only, MultiHeadAttention does not attend to padded keys, BatchNormalization takes its
  training statistics over the real positions;
- any other layer drops it (a warning says so, as Keras's does; an operation such as `x + w`
  or `ks.ops.einsum` drops it silently), so downstream layers see none; a custom layer with a
  traced `call` passes it on when it sets `supports_masking = True` (unless a layer inside makes
  its own);
- on a model's output the loss and the metrics weigh padded positions 0 (see
  `kerasette.training.masks`).

The graph executor runs this only for graphs that hold a mask-making layer (`makes_mask`), through
`forward_masked`; every other graph keeps the plain forward, at no cost.
"""

import warnings

import torch


class MaskProtocol:
    """The mask half of the layer protocol (mixed into `Layer`)."""

    supports_masking = False  # True: an incoming mask is passed on unchanged (compute_mask)
    uses_mask = False         # True: forward(x, training, mask=...) reads the mask
    mask_enters_graph = False  # True (models): an input mask flows on through the inner graph

    @property
    def makes_mask(self) -> bool:
        """True when this layer may create a mask from unmasked input, so that a graph holding it
        must run the masked path (a model or a composite layer: when a layer inside does)."""
        graph = self._own_graph()
        return graph is not None and any(layer.makes_mask for layer in graph.layers)

    def _own_graph(self):
        """The graph this layer runs (a composite layer's traced call, a model's), else None."""
        return self.__dict__.get("_call_graph") or self.__dict__.get("_graph")

    def compute_mask(self, x, mask=None):
        """The mask of the output, given the input `x` and its mask (Keras's rule): the mask
        itself for a layer that supports masking, the OR of several inputs' masks (None when one
        of them has none), else None."""
        if mask is None or not (self.supports_masking or self.uses_mask):
            return None
        if isinstance(mask, (list, tuple)):
            return combine_masks(mask)
        return mask

    def forward_masked(self, x, training: bool, mask):
        """`(y, backward, output mask)`: `forward` given the input's mask (None, a tensor, or a list
        for several inputs). A graph-backed layer runs its graph with the masks."""
        if _any_mask(mask):
            self._check_mask(mask, training)
        graph = self._own_graph()
        if graph is not None:  # a model, or a composite layer (its traced call)
            from ..graph.tracing import run_nested

            if _any_mask(mask) and not (self.mask_enters_graph or self.supports_masking):
                self._warn_mask_dropped()
                mask = None
            trained = self.__dict__.get("_call_graph_training") if training else None
            y, back, inner = run_nested(trained or graph, x, training, mask, with_masks=True)
            if not self.mask_enters_graph and not _any_mask(inner):
                # a composite layer: as Keras, its own rule when its call made no mask
                inner = self.compute_mask(x, mask)
            return y, back, inner
        if self.uses_mask:
            y, back = self.forward(x, training, mask=mask)
        else:
            if _any_mask(mask) and not self.supports_masking and not self.is_operation:
                self._warn_mask_dropped()  # (an op, as Keras's ops, drops it silently)
            y, back = self.forward(x, training)
        return y, back, self.compute_mask(x, mask)

    def _check_mask(self, mask, training: bool) -> None:
        """Raise a ValueError for a mask this layer cannot honour as Keras would (override)."""

    def _warn_mask_dropped(self) -> None:
        if self.__dict__.get("_mask_warned"):
            return
        self._mask_warned = True
        warnings.warn(f"Layer '{self.name}' ({type(self).__name__}) was given an input with a "
                      f"mask, but it does not support masking and drops it: the layers after it "
                      f"see no mask", UserWarning, stacklevel=4)


def combine_masks(masks):
    """Keras's merge rule: the OR of the masks, None when any input is unmasked (a step is real
    where any input's step is)."""
    if not masks or any(m is None for m in masks):
        return None
    out = masks[0]
    for m in masks[1:]:
        out = torch.logical_or(out, m)
    return out


def _any_mask(mask) -> bool:
    if isinstance(mask, (list, tuple)):
        return any(m is not None for m in mask)
    return mask is not None


def mask_of(x, mask):
    """The sequence's mask when `x` is [sequence, *initial states] (a list of masks), else `mask`."""
    if isinstance(mask, (list, tuple)):
        return mask[0] if mask else None
    return mask
