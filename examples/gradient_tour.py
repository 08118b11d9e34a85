"""A tour of kerasette's hand-written gradients, each checked against finite differences.

    python examples/gradient_tour.py

For every layer and every loss it prints the backward formula the code implements and the
relative error between that backward and float64 central differences (see
`kerasette.testing.check_gradients`): for the input, and the largest over the layer's weights.
A backward passes when both errors are below 1e-6; the script exits with status 1 if any fails.
"""

import sys
from dataclasses import dataclass

import torch

import kerasette as ks
from kerasette.testing import check_gradients

TOLERANCE = 1e-6


@dataclass
class Case:
    name: str
    formula: str
    target: object          # a layer or a loss
    x: object               # the layer's input (a list for a merge layer), or the loss's y_pred
    y_true: object = None   # losses only


def layer_cases(g: torch.Generator) -> list[Case]:
    def x(*shape):
        return torch.randn(shape, generator=g, dtype=torch.float64)

    L = ks.layers
    return [
        Case("Dense(4)", "dx = dz W^T, dW = x^T dz, db = sum_rows dz",
             L.Dense(4, bias_initializer="random_normal"), x(3, 5)),
        Case("ReLU", "dx = dy * [x > 0]", L.ReLU(), x(3, 5)),
        Case("LeakyReLU(0.01)", "dx = dy * (x > 0 ? 1 : 0.01)", L.LeakyReLU(), x(3, 5)),
        Case("ELU(1.0)", "dx = dy * (x > 0 ? 1 : y + alpha)", L.ELU(), x(3, 5)),
        Case("Tanh", "dx = dy * (1 - y^2)", L.Tanh(), x(3, 5)),
        Case("Sigmoid", "dx = dy * y * (1 - y)", L.Sigmoid(), x(3, 5)),
        Case("Softmax", "dx = y * (dy - sum(dy * y))", L.Softmax(), x(3, 5)),
        Case("GELU", "dx = dy * (Phi(x) + x phi(x))", L.GELU(), x(3, 5)),
        Case("Softplus", "dx = dy * sigmoid(x)", L.Softplus(), x(3, 5)),
        Case("Activation('linear')", "dx = dy", L.Activation("linear"), x(3, 5)),
        Case("Dropout(0.5), inference", "dx = dy", L.Dropout(0.5), x(3, 5)),
        Case("Flatten", "dx = dy.reshape(x.shape)", L.Flatten(), x(2, 3, 4)),
        Case("Reshape((-1, 2))", "dx = dy.reshape(x.shape)", L.Reshape((-1, 2)), x(2, 3, 4)),
        Case("Permute((2, 1))", "dx = dy.permute(inverse of dims)", L.Permute((2, 1)), x(2, 3, 4)),
        Case("RepeatVector(3)", "dx = dy.sum(1)", L.RepeatVector(3), x(2, 4)),
        Case("Identity", "dx = dy", L.Identity(), x(3, 5)),
        Case("InputLayer((5,))", "dx = dy", L.InputLayer((5,)), x(3, 5)),
        Case("Add, (3,1) + (3,5)", "dx_i = dy summed to x_i's shape", L.Add(), [x(3, 1), x(3, 5)]),
        Case("Subtract", "da = dy, db = -dy", L.Subtract(), [x(3, 5), x(3, 5)]),
        Case("Multiply", "dx_i = dy * prod_{j != i} x_j", L.Multiply(), [x(3, 5), x(3, 5), x(3, 5)]),
        Case("Average", "dx_i = dy / n", L.Average(), [x(3, 5), x(3, 5)]),
        Case("Maximum", "dx_i = dy where x_i is the (first) max", L.Maximum(), [x(3, 5), x(3, 5)]),
        Case("Minimum", "dx_i = dy where x_i is the (first) min", L.Minimum(), [x(3, 5), x(3, 5)]),
        Case("Concatenate(axis=-1)", "dx_i = dy's slice of x_i", L.Concatenate(), [x(3, 2), x(3, 4)]),
        Case("Dot(axes=(1, 2))", "dX = dZ Y^T, dY = X^T dZ (per sample)", L.Dot(axes=(1, 2)),
             [x(2, 3, 4), x(2, 5, 3)]),
        Case("Dot(1, normalize=True)", "then du -> (du - u sum(du u)) / |x|",
             L.Dot(1, normalize=True), [x(3, 4), x(3, 4)]),
    ]


# Gradient formulas of the built-in losses, by (class name, from_logits); n = number of terms.
LOSS_FORMULAS = {
    ("MeanSquaredError", None): "dp = 2 (p - y) / n",
    ("MeanAbsoluteError", None): "dp = sign(p - y) / n",
    ("Huber", None): "dp = clip(p - y, -delta, delta) / n",
    ("BinaryCrossentropy", True): "dz = (sigmoid(z) - y) / n",
    ("BinaryCrossentropy", False): "dp = (p - y) / (p (1 - p)) / n",
    ("CategoricalCrossentropy", True): "dz = (softmax(z) - y) / N",
    ("CategoricalCrossentropy", False): "dq = -y / q / N, with q = p / sum(p)",
    ("SparseCategoricalCrossentropy", True): "dz = (softmax(z) - onehot) / N",
    ("SparseCategoricalCrossentropy", False): "dq_i = -1 / q_i / N, with q = p / sum(p)",
    ("Hinge", None): "dp = -y [1 - y p > 0] / n",
    ("SquaredHinge", None): "dp = -2 y max(1 - y p, 0) / n",
    ("CategoricalHinge", None): "dp = [m > 0] ((1 - y) e_argmax - y) / N",
    ("LogCosh", None): "dp = tanh(p - y) / n",
    ("KLDivergence", None): "dp = -y / p / N",
    ("Poisson", None): "dp = (1 - y / (p + eps)) / n",
    ("CosineSimilarity", None): "dp = (v (u . v) - u) / |p| / N, u, v unit",
    ("MeanAbsolutePercentageError", None): "dp = 100 sign(p - y) / |y| / n",
    ("MeanSquaredLogarithmicError", None): "dp = 2 log((p+1)/(y+1)) / (p+1) / n",
}


def loss_cases(g: torch.Generator) -> list[Case]:
    """Every Loss class in kerasette.losses, with data of the kind it expects; both from_logits
    settings for the cross-entropies."""
    n, classes = 6, 4
    logits = torch.randn(n, classes, generator=g, dtype=torch.float64)
    labels = torch.randint(0, classes, (n,), generator=g)
    onehot = torch.eye(classes, dtype=torch.float64)[labels]
    binary = (torch.rand(n, 1, generator=g) > 0.5).double()
    regression_pred = torch.randn(n, 3, generator=g, dtype=torch.float64)
    regression_true = regression_pred + torch.randn(n, 3, generator=g, dtype=torch.float64)

    cases = []
    for cls in _loss_classes():
        name = cls.__name__
        for from_logits in ([False, True] if "Crossentropy" in name else [None]):
            kwargs = {} if from_logits is None else {"from_logits": from_logits}
            if name.startswith("Binary"):
                z = logits[:, :1] * 2
                x, y = (z if from_logits else torch.sigmoid(z)), binary
            elif name.startswith("Sparse"):
                x, y = (logits if from_logits else torch.softmax(logits, -1)), labels
            elif "Crossentropy" in name:
                x, y = (logits if from_logits else torch.softmax(logits, -1)), onehot
            elif name in ("Poisson", "MeanSquaredLogarithmicError", "KLDivergence"):
                # positive rates / probabilities (away from the clips at eps and 1)
                x, y = torch.softmax(logits, -1), torch.softmax(logits.flip(0), -1)
            elif name == "CategoricalHinge":
                x, y = logits, onehot
            else:
                x, y = regression_pred, regression_true
            label = name + ("" if from_logits is None else f"(from_logits={from_logits})")
            formula = LOSS_FORMULAS.get((name, from_logits), "see its docstring")
            cases.append(Case(label, formula, cls(**kwargs), x, y))
    # a loss written as a function of ks.ops (compile(loss=my_loss)): its backward is traced
    pseudo_huber = ks.losses.FunctionLoss(
        lambda t, p: ks.ops.mean(ks.ops.sqrt(1.0 + (p - t) ** 2) - 1.0, axis=-1),
        name="pseudo_huber")
    cases.append(Case("FunctionLoss(pseudo_huber)", "mean(sqrt(1 + (p - y)^2) - 1), traced ks.ops",
                      pseudo_huber, regression_pred, regression_true))
    return cases


def _loss_classes() -> list[type]:
    losses = ks.losses
    return [obj for obj in (getattr(losses, n) for n in getattr(losses, "__all__", []))
            if isinstance(obj, type) and issubclass(obj, losses.Loss)
            and obj not in (losses.Loss, losses.FunctionLoss)]  # FunctionLoss: one case below


def all_cases(seed: int = 0) -> list[Case]:
    g = torch.Generator().manual_seed(seed)
    return layer_cases(g) + loss_cases(g)


def check(case: Case) -> tuple[float, float | None]:
    """(largest input error, largest weight error or None when the target has no weights)."""
    errors = check_gradients(case.target, case.x, case.y_true)
    is_input = {key: key == "input" or key.startswith("input_") for key in errors}
    inputs = [e for key, e in errors.items() if is_input[key]]
    weights = [e for key, e in errors.items() if not is_input[key]]
    return max(inputs), max(weights) if weights else None


def main(cases: list[Case] | None = None) -> int:
    """Print the table; return 0 if every backward passes, else 1."""
    cases = all_cases() if cases is None else cases
    rows, failed = [], 0
    for case in cases:
        input_error, weight_error = check(case)
        ok = input_error < TOLERANCE and (weight_error is None or weight_error < TOLERANCE)
        failed += not ok
        rows.append((case.name, case.formula, f"{input_error:.1e}",
                     "-" if weight_error is None else f"{weight_error:.1e}",
                     "PASS" if ok else "FAIL"))

    header = ("target", "backward", "input err", "weight err", f"< {TOLERANCE:g}")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print(f"\n{len(rows) - failed}/{len(rows)} backwards agree with central differences "
          f"(float64, eps = 1e-6).")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
