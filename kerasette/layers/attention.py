"""`MultiHeadAttention` (Keras 3's layer, its weight layout and equations), written as a composite
layer: its `call` is ks.ops on its weights, traced into graph nodes that each carry a hand-written
backward (einsum_layer.py, the softmax layer, weight_read.py), so no backward is written here.

For query (B, T, Dq), value (B, S, Dv) and key (B, S, Dk) (key defaults to value), H heads:

    q = query . Wq + bq       (B, T, H, K)     Wq: (Dq, H, K), bq: (H, K)    (einsum abc,cde->abde)
    k = key . Wk + bk         (B, S, H, K)     v = value . Wv + bv   (B, S, H, V)
    scores = einsum(aecd,abcd->acbe, k, q / sqrt(K))                (B, H, T, S)
    p = softmax(scores, over S) under the attention mask, dropped out in training (`dropout`)
    y = einsum(abcd,cde->abe, einsum(acbe,aecd->abcd, p, v), Wo) + bo      (B, T, Dout)

The attention mask is Keras 3's (attention_softmax.py): the Keras masks of query, value and key
(padding from `Embedding(mask_zero=True)` upstream: a query step attends to no padded key step,
a padded query step's row is zeros) and, with `use_causal_mask=True` (a call argument, as in
Keras; one value per layer here, since the layer is traced once), no key step later than the
query step. The output carries the query's mask. `return_attention_scores=True` (a call argument,
fixed by the first call like use_causal_mask) also returns p (B, H, T, S), before dropout, as Keras.
Not supported, each a ValueError: attention masks given as tensors, `attention_axes`.
"""

import math

from .. import initializers as inits
from .attention_softmax import AttentionSoftmaxOp
from .base import Layer


class MultiHeadAttention(Layer):
    """Multi-head attention (see the module docstring): call it as `mha(query, value)`,
    `mha(query, value, key)`, with `use_causal_mask=True` for a decoder."""

    mask_enters_graph = True  # the inputs' masks reach the attention softmax (see above)

    def forward_masked(self, x, training, mask):
        """As Keras: the attention follows the inputs' masks, the output has the query's."""
        y, back, _ = super().forward_masked(x, training, mask)
        query_mask = mask[0] if isinstance(mask, (list, tuple)) else None
        return y, back, [query_mask, None] if self.return_attention_scores else query_mask

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", seed=None, use_causal_mask=None,
                 return_attention_scores=None, **kwargs):
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Invalid {arg}: expected a positive int, received {value!r}")
        if value_dim is not None and (isinstance(value_dim, bool) or not isinstance(
                value_dim, int) or value_dim <= 0):
            raise ValueError(f"Invalid value_dim: expected a positive int or None, received "
                             f"{value_dim!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
                not 0 <= dropout < 1:
            raise ValueError(f"Invalid dropout: expected a float in [0, 1), received {dropout!r}")
        if attention_axes is not None:
            raise ValueError("Invalid attention_axes: kerasette attends over the steps axis "
                             "(None, Keras's default)")
        if isinstance(output_shape, (tuple, list)):
            if len(output_shape) != 1:
                raise ValueError(f"Invalid output_shape: expected an int or a 1-tuple, received "
                                 f"{output_shape!r}")
            output_shape = output_shape[0]
        super().__init__(**kwargs)
        self.num_heads, self.key_dim = num_heads, key_dim
        self.value_dim = value_dim or key_dim
        self.dropout, self.use_bias, self.output_shape_arg = float(dropout), use_bias, output_shape
        self.kernel_initializer = inits.get(kernel_initializer)
        self.bias_initializer = inits.get(bias_initializer)
        from .. import random as ks_random

        self.seed = seed
        self.seed_generator = ks_random.SeedGenerator(seed)
        # fixed by the first call (or by a saved config: a graph replays its calls as a list)
        self.use_causal_mask = None if use_causal_mask is None else bool(use_causal_mask)
        self.return_attention_scores = None if return_attention_scores is None else \
            bool(return_attention_scores)

    def __call__(self, query, value=None, key=None, *, training=False, use_causal_mask=False,
                 attention_mask=None, return_attention_scores=False, **kwargs):
        if attention_mask is not None or kwargs:
            given = "attention_mask" if attention_mask is not None else sorted(kwargs)[0]
            raise ValueError(f"Invalid {given}: kerasette's MultiHeadAttention takes query, "
                             f"value, key, use_causal_mask and return_attention_scores")
        if isinstance(query, (list, tuple)):  # the list form of a saved graph's call
            inputs = list(query)
            if not use_causal_mask and self.use_causal_mask is not None:
                use_causal_mask = self.use_causal_mask  # as configured
            if not return_attention_scores and self.return_attention_scores is not None:
                return_attention_scores = self.return_attention_scores
        else:
            if value is None:
                raise ValueError("Invalid value: MultiHeadAttention needs query and value "
                                 "(mha(x, x) for self-attention)")
            inputs = [query, value] + ([key] if key is not None else [])
        causal = bool(use_causal_mask)
        if self.use_causal_mask is not None and causal != self.use_causal_mask:
            raise ValueError(f"Invalid use_causal_mask: layer '{self.name}' was first called with "
                             f"use_causal_mask={self.use_causal_mask}; it is traced once")
        self.use_causal_mask = causal
        scores = bool(return_attention_scores)
        if self.return_attention_scores is not None and scores != self.return_attention_scores:
            raise ValueError(f"Invalid return_attention_scores: layer '{self.name}' was first "
                             f"called with return_attention_scores={self.return_attention_scores}; "
                             f"it is traced once")
        self.return_attention_scores = scores
        return super().__call__(inputs, training=training)

    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) not in (2, 3):
            raise ValueError(f"Layer '{self.name}' takes [query, value] or [query, value, key], "
                             f"received input shape {input_shape}")
        q_shape, v_shape = input_shape[0], input_shape[1]
        k_shape = input_shape[2] if len(input_shape) == 3 else v_shape
        for name, shape in (("query", q_shape), ("value", v_shape), ("key", k_shape)):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(f"Layer '{self.name}' expects a {name} of shape (batch, steps, "
                                 f"features), received {tuple(shape)}")
        h, k, v = self.num_heads, self.key_dim, self.value_dim
        out = self.output_shape_arg or q_shape[-1]

        def dense(name, kernel_shape, bias_shape):
            kernel = self.add_weight(f"{name}_kernel", kernel_shape, self.kernel_initializer)
            bias = self.add_weight(f"{name}_bias", bias_shape, self.bias_initializer) \
                if self.use_bias else None
            return kernel, bias

        self.query_kernel, self.query_bias = dense("query", (q_shape[-1], h, k), (h, k))
        self.key_kernel, self.key_bias = dense("key", (k_shape[-1], h, k), (h, k))
        self.value_kernel, self.value_bias = dense("value", (v_shape[-1], h, v), (h, v))
        self.output_kernel, self.output_bias = dense("attention_output", (h, v, out), (out,))

    def call(self, query, value, key=None, training=None):
        from .. import ops
        from .. import random as ks_random

        masked_by = [query, value] + ([key] if key is not None else [])  # their Keras masks
        if key is None:
            key = value
        q = _project(query, self.query_kernel, self.query_bias, "abc,cde->abde")
        k = _project(key, self.key_kernel, self.key_bias, "abc,cde->abde")
        v = _project(value, self.value_kernel, self.value_bias, "abc,cde->abde")
        scores = ops.einsum("aecd,abcd->acbe", k, q * (1.0 / math.sqrt(self.key_dim)))
        probs = AttentionSoftmaxOp(causal=bool(self.use_causal_mask))([scores, *masked_by])
        dropped = probs
        if training and self.dropout > 0:
            dropped = ks_random.dropout(probs, self.dropout, seed=self.seed_generator)
        attended = ops.einsum("acbe,aecd->abcd", dropped, v)
        out = _project(attended, self.output_kernel, self.output_bias, "abcd,cde->abe")
        return [out, probs] if self.return_attention_scores else out  # (scores before dropout)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "output_shape": self.output_shape_arg,
                "kernel_initializer": inits.serialize(self.kernel_initializer),
                "bias_initializer": inits.serialize(self.bias_initializer), "seed": self.seed,
                "use_causal_mask": self.use_causal_mask,
                "return_attention_scores": self.return_attention_scores}


def _project(x, kernel, bias, equation):
    from .. import ops

    y = ops.einsum(equation, x, kernel)
    return y if bias is None else y + bias

