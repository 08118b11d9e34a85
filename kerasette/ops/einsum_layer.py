"""`ks.ops.einsum` of two symbolic tensors as a graph node, e.g. attention scores in a custom layer:

    scores = ks.ops.einsum("bqd,bkd->bqk", q, k)

For y = einsum("A,B->C", a, b) the gradient of each operand is another einsum, of dy with the
other operand, back to the operand's letters:

    da = einsum("C,B->A", dy, b)        db = einsum("C,A->B", dy, a)

That holds when no letter repeats within a term (no diagonals) and every letter of an operand
appears in the other operand or in the output (a letter only one operand has would be summed
away, and its gradient would be a broadcast); other equations are refused on symbolic tensors
with a TypeError (on data every equation works, as torch.einsum). The equation must spell out
its output ("->C") and use letters only (no "...").
"""

import torch

from .. import layers as _layers
from ..layers.base import Operation
from .elementwise_layers import auto_name


def parse(equation: str) -> tuple:
    """`(a, b, c)`: the two operands' letters and the output's, for an equation this node takes;
    TypeError (naming what is not supported) otherwise."""
    if not isinstance(equation, str):
        raise TypeError(f"Invalid subscripts: expected a string such as 'bqd,bkd->bqk', received "
                        f"{type(equation).__name__}")
    eq = equation.replace(" ", "")
    if "->" not in eq or "." in eq or eq.count(",") != 1:
        raise TypeError(f"Invalid subscripts for symbolic tensors: {equation!r}; a graph node "
                        f"takes two operands and an explicit output, letters only (e.g. "
                        f"'bqd,bkd->bqk')")
    lhs, c = eq.split("->")
    a, b = lhs.split(",")
    for term in (a, b, c):
        if not term.isalpha() or len(set(term)) != len(term):
            raise TypeError(f"Invalid subscripts for symbolic tensors: {equation!r}; a letter "
                            f"repeated within a term (a diagonal) has no gradient here")
    for mine, other in ((a, b), (b, a)):
        alone = [ch for ch in mine if ch not in other and ch not in c]
        if alone:
            raise TypeError(f"Invalid subscripts for symbolic tensors: {equation!r}; the letter "
                            f"{alone[0]!r} of '{mine}' is summed away without the other operand "
                            f"(sum that axis first, with ks.ops.sum)")
    return a, b, c


class EinsumOp(Operation):
    """y = einsum(equation, a, b) on inputs [a, b]; gradients as in the module docstring."""

    def __init__(self, equation: str, **kwargs):
        kwargs.setdefault("name", auto_name("einsum"))
        super().__init__(**kwargs)
        self.a, self.b, self.c = parse(equation)
        self.equation = f"{self.a},{self.b}->{self.c}"

    def forward(self, x, training=False):
        a, b = x
        y = torch.einsum(self.equation, a, b)
        sa, sb, sc = self.a, self.b, self.c

        def backward(dy):
            return (torch.einsum(f"{sc},{sb}->{sa}", dy, b),
                    torch.einsum(f"{sc},{sa}->{sb}", dy, a))
        return y, backward

    def compute_output_shape(self, input_shape):
        """Found on empty "meta" tensors; an unknown size (None) tried as two lengths."""
        tries = []
        for guess in (7, 11):
            metas = [torch.empty([guess if d is None else d for d in s], device="meta")
                     for s in input_shape]
            try:
                tries.append(torch.einsum(self.equation, *metas).shape)
            except RuntimeError as e:
                raise ValueError(f"einsum {self.equation!r} cannot take shapes "
                                 f"{[tuple(s) for s in input_shape]}: {e}") from e
        return tuple(a if a == b else None for a, b in zip(*tries))

    def get_config(self) -> dict:
        return {**super().get_config(), "equation": self.equation}


_layers.register(EinsumOp)
