"""The check every masked model must pass: padding changes nothing (imported by the masking tests;
tests/ is on sys.path)."""

import numpy as np
import torch


def assert_padding_changes_nothing(make_model, short, padded, batch_size, seed=0):
    """Two models from `make_model()` (the same weights) fed `short` and the same rows with extra
    padding (`padded`): the same predictions, and after two epochs of Adam the same weights (moving
    statistics included), to 1e-12."""
    a, b = make_model(), make_model()
    np.testing.assert_allclose(a.predict(padded, verbose=0), a.predict(short, verbose=0),
                               rtol=0, atol=1e-12)
    rows = (short[0] if isinstance(short, list) else short).shape[0]
    y = torch.randn(rows, 1, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    for model, x in ((a, short), (b, padded)):
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, batch_size=batch_size, epochs=2, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=0, atol=1e-12)
