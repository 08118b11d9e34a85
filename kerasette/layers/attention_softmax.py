"""The softmax of MultiHeadAttention's scores over the key steps, with Keras's attention mask.

Node inputs: [scores (B, H, T, S), query, value(, key)]. The query, value and key are there only
for their Keras masks (kerasette/layers/mask_protocol.py): the graph executor hands this node the
masks of those tensors, which inside the layer's traced call are the layer's own inputs. As Keras
3's MultiHeadAttention, the attention mask is

    m[b, t, s] = query_mask[b, t] & value_mask[b, s] (& key_mask[b, s]) (& s <= t if causal)

(each term only when present) and, broadcast over the heads,

    forward                                 backward (given dy = dL/dy)
    z = where(m, scores, -1e9)              dp = where(m, dy, 0)
    p = softmax(z) over s                   dz = p * (dp - sum_s(dp * p))
    y = where(m, p, 0)                      dscores = where(m, dz, 0)

The last where zeroes a padded query step's whole row (Keras: a fully masked row would otherwise
be uniform). Without any mask this is softmax(scores) and its backward; the masks have no gradient,
so query, value and key get none from this node.
"""

import torch

from .. import activations
from .base import Operation

_LARGE_NEGATIVE = -1e9  # Keras's masked-softmax constant (float32 and wider)


class AttentionSoftmaxOp(Operation):
    """Softmax over the last axis of the scores under Keras's attention mask (module docstring)."""

    uses_mask = True

    def __init__(self, causal: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.causal = bool(causal)
        self._softmax = activations.Softmax(-1)

    def forward(self, x, training=False, mask=None):
        scores = x[0]
        m = self._attention_mask(scores, mask)
        if m is None:
            y, back = self._softmax.forward(scores)
            return y, lambda dy: (back(dy), *([None] * (len(x) - 1)))
        p, back = self._softmax.forward(scores.masked_fill(~m, _LARGE_NEGATIVE))
        y = p.masked_fill(~m, 0.0)

        def backward(dy):
            return (back(dy.masked_fill(~m, 0.0)).masked_fill_(~m, 0.0),
                    *([None] * (len(x) - 1)))
        return y, backward

    def _attention_mask(self, scores, mask):
        """(B, 1, T, S) bool, or (T, S) for the causal mask alone; None without any mask."""
        masks = list(mask) if isinstance(mask, (list, tuple)) else [None] * 4
        query_mask, key_masks = masks[1], [m for m in masks[2:4] if m is not None]
        t, s = scores.shape[-2], scores.shape[-1]
        m = None
        if query_mask is not None:
            m = query_mask[:, :, None]                    # (B, T, 1)
        for km in key_masks:
            m = km[:, None, :] if m is None else m & km[:, None, :]  # (B, 1, S)
        if self.causal:
            causal = torch.ones(t, s, dtype=torch.bool, device=scores.device).tril()
            m = causal if m is None else m & causal
        if m is None or m.dim() == 2:
            return m
        return m.expand(m.shape[0], t, s)[:, None]         # one mask for every head

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self) -> dict:
        return {**super().get_config(), "causal": self.causal}
