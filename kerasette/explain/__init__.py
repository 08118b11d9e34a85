"""`ks.utils.explain(model, x, y)`: one training step taken apart, layer by layer.

    report = ks.utils.explain(model, x[:32], y[:32])
    print(report)                  # a text table, then each layer's forward / backward formulas
    report.to_html("step.html")    # the same as an HTML page
    report.to_png("step.png")      # the same as a picture (matplotlib)

For one batch it runs the model's own graph the way a training step does (same fused loss, same
plan of which backward runs) and reports, for every node of the graph:

    output shape      of the layer's output for this batch
    forward/backward  the formulas from the layer's docstring (and its activation's)
    |dL/dy|           norm of the gradient reaching the layer's output (- where nobody needs it:
                      before the first trainable layer)
    |dL/dW|           norm of the layer's weight gradients (all its trainable weights end to end)
    |dW|/|W|          the update the compiled optimizer would apply now, relative to the weights
                      (measured on a copy of the optimizer: nothing of the model changes)
    units             fraction of dead ReLU units (zero for every sample of the batch), or of
                      saturated sigmoid (< 0.01 or > 0.99) / tanh (|y| > 0.99) outputs
    grad check        largest relative error of `kerasette.testing.check_gradients` on that layer
                      with its actual input (the batch's first `check_rows` rows), PASS if < 1e-6;
                      KINK (not a failure) when it is larger and the input has tied values, as a
                      max pooling over a ReLU's zeros does: no derivative there to compare with

Nothing is changed: weights, layer state, gradients, optimizer state and random generators are
all as they were before the call.
"""

from .docstrings import formulas
from .report import CHECK_TOLERANCE, HEADERS, Explanation, LayerReport
from .step import explain

__all__ = ["CHECK_TOLERANCE", "HEADERS", "Explanation", "LayerReport", "explain", "formulas"]
