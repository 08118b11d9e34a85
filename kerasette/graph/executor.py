"""The graph executor: one forward / backward path for every model kind.

`Graph(inputs, outputs)` walks the nodes back from the outputs and sorts them so that every node
comes after the nodes it reads from (micrograd's topological sort). Then, for one batch:

    values[inputs] = xs
    for node in order:                    forward, keeping each node's backward closure
        values[node.outputs], back = node.layer.forward(values[node.inputs])
    grads[outputs] = dys
    for node, back in reversed(...):      backward, summing the gradient of a tensor read twice
        grads[node.inputs] += back(grads[node.outputs])

What needs a gradient is decided once per set of trainable flags (`Plan`), as autograd decides it:
a tensor needs dL/dt when a trainable weight lies upstream of it. A node runs its backward only when
it has trainable weights or an input that needs a gradient; it asks for dL/dx only for inputs that
need it (`backward(dy, need_dx=False)` for layers that can skip it). So the layers before the first
trainable one cost no backward at all, and frozen branches cost nothing.

A fused output (a final sigmoid / softmax whose cross-entropy takes logits, see
`kerasette.training.heads`) is produced by running its node without that activation
(`forward_logits`); everything else is the same path.
"""

from .. import activations
from .symbolic import KerasTensor


class GraphError(ValueError):
    """A graph that cannot be built (disconnected, or an output not computed from the inputs)."""


class Step:
    """One node of a plan: the layer, where its inputs and outputs live, what backward must do."""

    __slots__ = ("layer", "ins", "outs", "several", "multi_output", "backward", "need_dx",
                 "logits", "overwrite")

    def __init__(self, node, ids, rg, trainable, logits):
        self.layer = node.layer
        self.ins = [ids[t] for t in node.inputs]
        self.outs = [ids[t] for t in node.outputs]
        self.several = node.several
        self.multi_output = node.multi_output
        reads = node.layer.depends_on_input  # False: y ignores x's values (a weight read)
        self.need_dx = [rg[i] and reads for i in self.ins]
        self.backward = trainable or any(self.need_dx)
        self.logits = logits
        self.overwrite = False


class Plan(list):
    """The steps of a plan; `overwrites_all`: every trainable weight's gradient is written by
    exactly one backward call that overwrites it, so the gradient buffer needs no zero-fill;
    `chain`: each step reads the previous one's only output (a Sequential model), run by a
    shorter loop with the same arithmetic."""

    overwrites_all = False
    chain = False
    masked = False  # a layer may make a Keras mask: run the masked path (layers/mask_protocol.py)


class Graph:
    """Nodes between `inputs` and `outputs` (lists of KerasTensors) in topological order."""

    def __init__(self, inputs, outputs):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Invalid model inputs/outputs: expected symbolic tensors (from "
                                f"ks.Input and layer calls), received {type(t).__name__}")
        for t in self.inputs:
            if t.node is None or type(t.node.layer).__name__ != "InputLayer":
                raise GraphError(f"Invalid inputs: {t} is not an input created by ks.Input(...); "
                                 f"a model's inputs must be the ks.Input tensors it starts from")
        self.nodes = self._sort()
        ids = {}
        for t in self.inputs:
            ids.setdefault(t, len(ids))
        for node in self.nodes:
            for t in node.outputs:
                ids.setdefault(t, len(ids))
        self.ids = ids
        self.input_ids = [ids[t] for t in self.inputs]
        self.output_ids = [ids[t] for t in self.outputs]
        self.layers = _unique(node.layer for node in self.nodes)
        self._plans = {}

    def _sort(self) -> list:
        """Nodes from the inputs to the outputs; ValueError where an output is not reachable."""
        inputs = set(self.inputs)
        order, done, active = [], set(), set()

        def visit(t: KerasTensor, path):
            if t in inputs:
                return
            node = t.node
            if node is None or type(node.layer).__name__ == "InputLayer":
                raise GraphError(f"Graph disconnected: {path[-1]} depends on {t}, which is not one "
                                 f"of the model's inputs {[i.name for i in self.inputs]}; pass every "
                                 f"ks.Input the outputs use to ks.Model(inputs=...)")
            if node in done:
                return
            if node in active:  # cannot happen with layer calls, but a cycle must not hang
                raise GraphError(f"Graph has a cycle through layer '{node.layer.name}'")
            active.add(node)
            for i in node.inputs:
                visit(i, path + [t.name])
            active.discard(node)
            done.add(node)
            order.append(node)

        for t in self.outputs:
            visit(t, [t.name])
        return order

    # ----- plans --------------------------------------------------------------------------------
    def plan(self, input_grads: bool = False, logits=(), overwrite: bool = False) -> Plan:
        """Steps for the current trainable flags; `input_grads`: dL/d(inputs) is wanted (a graph
        nested in another); `logits`: output positions produced without their final activation;
        `overwrite`: every output reaches the loss, so the first gradient written into each weight
        may overwrite (see `_plan_overwrites`)."""
        flags = tuple(w.trainable for layer in self.layers for w in layer.weights)
        key = (flags, input_grads, tuple(logits), overwrite)
        steps = self._plans.get(key)
        if steps is None:
            steps = self._plans[key] = self._make_plan(input_grads, set(logits))
            if overwrite:
                self._plan_overwrites(steps)
        return steps

    def _plan_overwrites(self, steps: Plan) -> None:
        """All or nothing: when every node with trainable weights runs a backward whose layer can
        overwrite and is called once in the graph, each such backward writes its gradients and the
        buffer needs no zero-fill (a shared layer's second use would have to add)."""
        calls = {}
        for s in steps:
            calls[id(s.layer)] = calls.get(id(s.layer), 0) + 1
        trained = [s for s in steps if any(w.trainable for w in s.layer.weights)]
        if all(s.backward and getattr(s.layer, "overwrites_grads", False)
               and calls[id(s.layer)] == 1 and not s.several for s in trained):
            for s in trained:
                s.overwrite = True
            steps.overwrites_all = True

    def _make_plan(self, input_grads: bool, logits: set) -> Plan:
        rg = [False] * len(self.ids)  # rg[t]: dL/dt is needed by some trainable weight upstream
        for i in self.input_ids:
            rg[i] = input_grads
        logit_tensors = {self.output_ids[k] for k in logits}
        steps = Plan()
        steps.chain = len(self.input_ids) == 1 and len(self.output_ids) == 1 and all(
            not n.several and not n.multi_output and len(n.inputs) == 1 for n in self.nodes) and all(
            self.ids[n.inputs[0]] == (self.ids[self.nodes[i - 1].outputs[0]] if i else self.input_ids[0])
            for i, n in enumerate(self.nodes)) and (not self.nodes or self.ids[
                self.nodes[-1].outputs[0]] == self.output_ids[0])
        steps.masked = any(node.layer.makes_mask for node in self.nodes)
        steps.chain = steps.chain and not steps.masked
        for node in self.nodes:
            trainable = any(w.trainable for w in node.layer.weights)
            step = Step(node, self.ids, rg, trainable,
                        logits=any(self.ids[t] in logit_tensors for t in node.outputs))
            for o in step.outs:
                rg[o] = step.backward
            steps.append(step)
        return steps

    # ----- running --------------------------------------------------------------------------------
    def forward(self, xs: list, training: bool = False, steps=None):
        """Outputs for the input tensors `xs`, and `backward(dys) -> dL/d(inputs)` (a list, with
        None where not wanted or not reachable)."""
        if steps is None:
            steps = self.plan()
        if steps.chain:
            return self._forward_chain(xs[0], training, steps)
        return self.forward_masked(xs, training, steps)[:2]

    def forward_masked(self, xs: list, training: bool = False, steps=None, masks=None):
        """`forward` that also returns the outputs' Keras masks (a list, None where unmasked):
        `(outputs, backward, output masks)`. `masks`: the inputs' masks (a graph nested in another
        and given masked data). Each node gets its inputs' masks and gives its outputs' (see
        kerasette/layers/mask_protocol.py); a graph without mask-making layers and without
        input masks runs the plain loop."""
        if steps is None:
            steps = self.plan()
        n = len(self.ids)
        values = [None] * n
        for i, x in zip(self.input_ids, xs):
            values[i] = x
        masked = steps.masked or masks is not None and any(m is not None for m in masks)
        mask_of = [None] * n if masked else None
        if masked and masks is not None:
            for i, m in zip(self.input_ids, masks):
                mask_of[i] = m
        backs = []
        for s in steps:
            x = [values[i] for i in s.ins] if s.several else values[s.ins[0]]
            if masked:
                m = [mask_of[i] for i in s.ins] if s.several else mask_of[s.ins[0]]
                run = s.layer.forward_masked
                y, back, out_mask = forward_logits(s.layer, x, training, m, run) if s.logits \
                    else run(x, training, m)
                if s.multi_output:
                    out_masks = out_mask if isinstance(out_mask, (list, tuple)) else \
                        [out_mask] * len(s.outs)
                    for o, om in zip(s.outs, out_masks):
                        mask_of[o] = om
                else:
                    mask_of[s.outs[0]] = out_mask
            elif s.logits:
                y, back = forward_logits(s.layer, x, training)
            else:
                y, back = s.layer.forward(x, training)
            if s.multi_output:
                for o, v in zip(s.outs, y):
                    values[o] = v
            else:
                values[s.outs[0]] = y
            backs.append(back)
        outputs = [values[i] for i in self.output_ids]
        output_masks = [mask_of[i] for i in self.output_ids] if masked else \
            [None] * len(outputs)
        input_ids, output_ids = self.input_ids, self.output_ids

        def backward(dys, backward_steps=None):
            # `backward_steps`: the same nodes planned for other gradient needs (a nested graph
            # whose caller does or does not want dL/d(inputs)); the forward is the same either way.
            plan = steps if backward_steps is None else backward_steps
            grads = [None] * n
            for i, dy in zip(output_ids, dys):
                if dy is not None:
                    grads[i] = dy if grads[i] is None else grads[i] + dy
            for s, back in zip(reversed(plan), reversed(backs)):
                if not s.backward:
                    continue
                if s.multi_output:
                    dy = [grads[o] for o in s.outs]
                    if all(d is None for d in dy) and not s.layer.loss_source:
                        continue
                else:
                    dy = grads[s.outs[0]]
                    if dy is None and not s.layer.loss_source:  # output does not reach the loss
                        continue
                if s.several:
                    dxs = back(dy)
                    for i, dx, need in zip(s.ins, dxs, s.need_dx):
                        if need and dx is not None:
                            grads[i] = dx if grads[i] is None else grads[i] + dx
                elif s.need_dx[0]:
                    dx = back(dy, overwrite=True) if s.overwrite else back(dy)
                    i = s.ins[0]
                    if dx is not None:  # None: a nested graph whose input the loss never saw
                        grads[i] = dx if grads[i] is None else grads[i] + dx
                elif s.overwrite:
                    back(dy, need_dx=False, overwrite=True)
                elif getattr(s.layer, "skips_input_grad", False):
                    back(dy, need_dx=False)
                else:
                    back(dy)
            return [grads[i] for i in input_ids]

        return outputs, backward, output_masks


    def _forward_chain(self, x, training: bool, steps: Plan):
        """`forward` for a chain: the same calls, without the bookkeeping of tensor positions.
        In a chain, once a step needs no backward, no step before it does."""
        backs = []
        for s in steps:
            x, back = forward_logits(s.layer, x, training) if s.logits else \
                s.layer.forward(x, training)
            backs.append(back)

        def backward(dys, backward_steps=None):
            dy = dys[0]
            for s, back in zip(reversed(backward_steps or steps), reversed(backs)):
                if not s.backward:
                    return [None]
                if s.need_dx[0]:
                    dy = back(dy, overwrite=True) if s.overwrite else back(dy)
                else:  # the first trained step: nobody needs its dx
                    if s.overwrite:
                        back(dy, need_dx=False, overwrite=True)
                    elif s.layer.skips_input_grad:
                        back(dy, need_dx=False)
                    else:
                        back(dy)
                    return [None]
            return [dy]

        return [x], backward


def forward_logits(layer, x, training, *masked):
    """Run `layer` without its final activation: `(logits, backward)` (with `masked` = (mask,
    layer.forward_masked): `(logits, backward, output mask)`).

    The one place where fusion touches a layer: a layer whose last step is its `activation`
    attribute (Dense, Conv, the activation layers) runs with the identity there instead, so the
    cross-entropy that follows can take logits and return the stable gradient p - y. Restored
    at once: the backward closure has already captured what it needs.
    """
    act = layer.activation
    layer.activation = activations.linear
    try:
        if masked:
            mask, run = masked
            return run(x, training, mask)
        return layer.forward(x, training)
    finally:
        layer.activation = act


def _unique(items) -> list:
    seen, out = set(), []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out
