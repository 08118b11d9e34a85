"""Shared test settings.

Tests use tiny tensors, for which torch's intra-op threads only add contention (on a busy 2-core
machine a 4x4 matmul with 2 threads was seen to take 20 ms); one thread keeps the suite fast and steady.
"""

import torch

torch.set_num_threads(1)
