"""AdamW: Adam with decoupled weight decay on by default (Loshchilov & Hutter, 2019).

    w <- w - lr * weight_decay * w        (first; the base class applies it)
    then the Adam update of `adam.py`

This is Keras 3's AdamW (weight_decay defaults to 0.004 and may not be None) and also what
PyTorch's AdamW does (w *= 1 - lr * weight_decay, then Adam); the only difference from torch is
Adam's epsilon placement (see adam.py). In Keras, and here, Adam(weight_decay=x) is the same as
AdamW(weight_decay=x).
"""

from .adam import Adam


class AdamW(Adam):
    """Adam with decoupled weight decay; Keras's argument order and defaults."""

    _default_name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name=None, **kwargs):
        if weight_decay is None:
            raise ValueError("Invalid weight_decay: AdamW expects a float >= 0, received None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, clipnorm,
                         clipvalue, global_clipnorm, name, **kwargs)
