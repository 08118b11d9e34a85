"""Keep finite-difference checks off kinks (MAE and abs at 0, ReLU / LeakyReLU / ELU at 0, Huber at
|error| = delta): a central difference that straddles a kink measures the mean of two slopes, not
the gradient, so a property test must generate data away from them instead of hoping to miss them."""

import torch

KINK_MARGIN = 1e-3  # far beyond check_gradients' eps (1e-6): a +-eps nudge never crosses a kink


def away_from(t, kinks, margin=KINK_MARGIN):
    """`t` with every entry within `margin` of a kink moved to `margin` past it (on its own side)."""
    for k in kinks:
        near = (t - k).abs() < margin
        t = torch.where(near, k + torch.where(t >= k, margin, -margin), t)
    return t
