"""`model.summary()`: one row per layer (name, type, output shape, parameters) and the totals."""


def summary_lines(model) -> list[str]:
    rows = [("Layer (type)", "Output Shape", "Param #")]
    shape = model.input_shape
    for layer in model.layers:
        shape = tuple(layer.compute_output_shape(shape))
        frozen = "" if layer.trainable or not layer.weights else " [frozen]"
        rows.append((f"{layer.name} ({type(layer).__name__}){frozen}", str(shape),
                     f"{layer.count_params():,}"))
    widths = [max(len(r[i]) for r in rows) + 2 for i in range(3)]
    width = sum(widths)
    lines = [f'Model: "{model.name}"', "=" * width]
    for k, r in enumerate(rows):
        lines.append(r[0].ljust(widths[0]) + r[1].ljust(widths[1]) + r[2].rjust(widths[2]))
        lines.append(("=" if k == 0 else "-") * width)
    trainable = sum(w.numel() for w in model.trainable_weights)
    frozen = sum(w.numel() for w in model.non_trainable_weights)
    lines += [f"Total params: {trainable + frozen:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {frozen:,}"]
    return lines
