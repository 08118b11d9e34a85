"""How data and compile arguments are laid out for a model with several inputs or outputs: lists in
model order or dicts keyed by Input / output names, checked and put in model order; and the walk over
nested layers. Pure functions used by the trainer."""

import numbers

from ..models.arguments import as_list


def _metric_groups(spec, arg: str) -> list:
    """The metric ids of a compile argument as lists (one per output where it is structured)."""
    if spec is None:
        return []
    if isinstance(spec, dict):
        return [v if isinstance(v, (list, tuple)) else [v] for v in spec.values() if v is not None]
    if isinstance(spec, (list, tuple)):
        if any(isinstance(v, (list, tuple)) for v in spec):
            return [v if isinstance(v, (list, tuple)) else [v] for v in spec if v is not None]
        return [list(spec)]
    return [as_list(spec, arg)]


def _all_layers(layers) -> list:
    """Every layer in `layers`, with those of nested models and composite layers."""
    out = []
    for layer in layers:
        out.append(layer)
        model_graph = getattr(layer, "_graph", None)
        for inner in [model_graph] if model_graph is not None else layer._call_graphs():
            out.extend(_all_layers(inner.layers))
    return out



def _is_array_like(x) -> bool:
    """A list / tuple that is data (numbers or nested lists of numbers), not a list of arrays."""
    if not isinstance(x, (list, tuple)) or not x:
        return False
    first = x[0]
    return isinstance(first, (numbers.Number, list, tuple)) and not isinstance(first, bool) or \
        isinstance(first, bool)


def _split_structure(value, names: list, arg: str, what: str) -> list:
    """[(label, array)] in model order from a list / tuple or a dict keyed by the model's names."""
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(f"Invalid {arg}: keys {unknown} are not {what} names; the model's "
                             f"{what}s are {names}")
        missing = [k for k in names if k not in value]
        if missing and what == "input":
            raise ValueError(f"Invalid {arg}: missing {what}(s) {missing}; expected keys {names}")
        return [(f"{arg}['{k}']", value.get(k)) for k in names]
    if isinstance(value, (list, tuple)) and not _is_array_like(value):
        if len(value) != len(names):
            raise ValueError(f"Invalid {arg}: the model has {len(names)} {what}s {names}, "
                             f"received a {type(value).__name__} of {len(value)} arrays")
        return [(f"{arg}[{i}]", v) for i, v in enumerate(value)]
    if len(names) == 1:
        return [(arg, value)]
    raise ValueError(f"Invalid {arg}: the model has {len(names)} {what}s {names}; pass a list of "
                     f"{len(names)} arrays or a dict keyed by {what} name, received "
                     f"{type(value).__name__}")


def _same_rows(pairs) -> None:
    counts = {label: t.shape[0] for label, t in pairs}
    if len(set(counts.values())) > 1:
        raise ValueError(f"Invalid inputs: every input needs the same number of samples, received "
                         f"{counts}")
