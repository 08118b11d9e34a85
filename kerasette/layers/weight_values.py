"""The one gate every weight value passes before it is copied in (`Weight.assign`,
`Layer.set_weights`, `Model.set_weights`, loading a file): it must be real numbers (no complex, string
or object data, no tensor on the `meta` device), of the weight's shape, finite, and representable in
the weight's dtype (1e300 does not fit in float32). All values of one call are checked before the
first one is copied, so a refused call changes nothing.

NaN and inf are refused (Keras accepts them): a weight that is NaN makes every later loss NaN, and
kerasette refuses NaN data and stops training before a non-finite step for the same reason.
"""

import numpy as np
import torch


def weight_tensor(value, weight, arg: str = "weights") -> torch.Tensor:
    """`value` as a tensor of `weight`'s shape, dtype and device; ValueError / TypeError naming
    `arg` and the weight otherwise. `weight.value` is not touched."""
    where = f"Invalid {arg}: '{weight.name}'"
    t = _as_real_tensor(value, where)
    if tuple(t.shape) != weight.shape:
        raise ValueError(f"{where} expects shape {weight.shape}, received {tuple(t.shape)}")
    target = weight.value
    cast = t.to(device=target.device, dtype=target.dtype)
    # The sum is finite only if every value is (cheap, no mask); an overflowing sum of finite values
    # falls through to the exact check.
    if cast.is_floating_point() and not bool(torch.isfinite(cast.sum())) \
            and not bool(torch.isfinite(cast).all()):
        src = t if t.is_floating_point() else t.double()
        finite_src = torch.isfinite(src.to(cast.device))
        bad = ~finite_src
        if bool(bad.any()):
            first = tuple(int(i) for i in bad.nonzero()[0])
            raise ValueError(f"{where} expects finite values, received {int(bad.sum())} NaN or "
                             f"infinite value(s), the first at index {first}")
        overflow = finite_src & ~torch.isfinite(cast)
        first = tuple(int(i) for i in overflow.nonzero()[0])
        raise ValueError(f"{where} expects values {_dtype_name(target.dtype)} can hold (|x| <= "
                         f"{torch.finfo(target.dtype).max:.3g}), received {float(src[first]):.6g} "
                         f"at index {first}")
    return cast


def assign_all(weights, values, owner: str, arg: str = "weights") -> None:
    """Copy `values` (a list or tuple, one per weight, in order) into `weights`, checking every one
    first (`weight_tensor`); `owner` ("model 'm'", "layer 'dense'") is named in a count mismatch."""
    weights = list(weights)
    tensors = weight_tensors(weights, values, owner, arg)
    for w, t in zip(weights, tensors):
        w.value.copy_(t)


def weight_tensors(weights, values, owner: str, arg: str = "weights") -> list:
    """The checked tensors `assign_all` would copy, without copying them."""
    if not isinstance(values, (list, tuple)):
        raise TypeError(f"Invalid {arg}: expected a list of arrays, one per weight of {owner}, "
                        f"received {type(values).__name__}")
    weights = list(weights)
    if len(values) != len(weights):
        raise ValueError(f"Invalid {arg}: {owner} has {len(weights)} weight arrays, received "
                         f"{len(values)}")
    return [weight_tensor(v, w, arg) for w, v in zip(weights, values)]


def delta_tensor(value, weight, arg: str = "delta") -> torch.Tensor:
    """`value` (a number, array or tensor) as real numbers in `weight`'s dtype and device, for
    `assign_add` / `assign_sub`; the sum is then checked as any assigned value."""
    t = _as_real_tensor(value, f"Invalid {arg}: '{weight.name}'")
    return t.to(device=weight.value.device, dtype=weight.value.dtype)


def _as_real_tensor(value, where: str) -> torch.Tensor:
    from ..graph.symbolic import is_symbolic

    if is_symbolic(value):
        raise TypeError(f"{where} expects data, received a symbolic tensor: a traced call() runs "
                        f"once, so an assignment there would happen once, at trace time, not at "
                        f"every step. Update state in forward(x) -> (y, backward) instead")
    if isinstance(value, torch.Tensor):
        t = value.detach()
        if t.device.type == "meta":
            raise ValueError(f"{where} expects values, received a tensor on the 'meta' device "
                             f"(it has a shape but no data)")
    elif value is None or isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"{where} expects an array of numbers, received {type(value).__name__}")
    else:
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError) as e:  # ragged lists, objects NumPy cannot read
            raise ValueError(f"{where} expects a rectangular array of numbers, received a "
                             f"{type(value).__name__} NumPy cannot read as one ({e})") from e
        if arr.dtype.kind not in "biuf":
            kind = "complex" if arr.dtype.kind == "c" else str(arr.dtype)
            raise TypeError(f"{where} expects real numbers, received an array of dtype {kind}")
        if arr.dtype.kind == "f" and arr.dtype.itemsize > 8 or arr.dtype.kind in "iu":
            with np.errstate(over="ignore"):  # long double, uint64...: via float64 (overflow -> inf)
                arr = arr.astype(np.float64)
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.dtype.is_complex:
        raise TypeError(f"{where} expects real numbers, received a complex tensor ({t.dtype})")
    return t


def _dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


__all__ = ["assign_all", "weight_tensor", "weight_tensors"]
