"""Shared pieces of the benchmarks: the seeds' data, the two baselines, and a timing harness.

The baselines are what kerasette is measured against:
- `lean_loop`: the fastest honest manual-backprop loop we can write by hand — flat parameter and
  gradient buffers, `addmm`, one permutation per epoch, the epoch's loss summed on the device.
- `torch_nn_loop`: the usual torch.nn + autograd + torch.optim (foreach) loop on the same net and data.
"""

import math
import statistics
import time

import torch


def disk_data(n=1000, seed=0, one_hot=True):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g)
    inside = ((x - 0.5).pow(2).sum(1) < 1 / (2 * math.pi)).long()
    y = torch.nn.functional.one_hot(inside, 2).float() if one_hot else inside.float()[:, None]
    return x, y


def mlp_shapes(sizes):
    return [(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]


def init_params(sizes, seed=0, dtype=torch.float32):
    """Glorot-uniform kernels (in, out) and zero biases, as plain tensors."""
    g = torch.Generator().manual_seed(seed)
    params = []
    for fan_in, fan_out in mlp_shapes(sizes):
        limit = math.sqrt(6 / (fan_in + fan_out))
        params.append(((torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * limit).to(dtype))
        params.append(torch.zeros(fan_out, dtype=dtype))
    return params


def lean_loop(x, y, sizes, epochs, batch_size, lr, seed=0, tuned=False):
    """Manual backprop, ReLU hidden layers, linear output, MSE, plain SGD on flat buffers.

    `tuned=True` is the same training written as cheaply as we know for large batches: each batch
    gathers its own shuffled rows (index_select), ReLU runs in place, and each gradient is written
    by its matmul instead of zero-filling the buffer and adding. That is the floor (`floor_loop`)
    plus only the work this training needs and the floor omits: the row gather, ReLU and its
    backward, the loss and bias gradients."""
    params = init_params(sizes, seed, x.dtype)
    flat = torch.cat([p.reshape(-1) for p in params])
    grad = torch.zeros_like(flat)
    views, gviews, off = [], [], 0
    for p in params:
        views.append(flat[off:off + p.numel()].view(p.shape))
        gviews.append(grad[off:off + p.numel()].view(p.shape))
        off += p.numel()
    Ws, bs, dWs, dbs = views[0::2], views[1::2], gviews[0::2], gviews[1::2]
    n_layers = len(Ws)
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        if not tuned:
            xs, ys = x[perm], y[perm]
        loss_sum = torch.zeros((), dtype=x.dtype)
        for start in range(0, n, batch_size):
            if tuned:
                rows = perm[start:start + batch_size]
                xb, yb = x.index_select(0, rows), y.index_select(0, rows)
            else:
                xb, yb = xs[start:start + batch_size], ys[start:start + batch_size]
            acts = [xb]
            h = xb
            for i in range(n_layers):
                h = torch.addmm(bs[i], h, Ws[i])
                if i < n_layers - 1:
                    h = h.relu_() if tuned else torch.relu(h)
                acts.append(h)
            diff = h - yb
            loss_sum.add_(diff.square().mean(), alpha=xb.shape[0])
            d = diff * (2.0 / diff.numel())
            if not tuned:
                grad.zero_()
            for i in range(n_layers - 1, -1, -1):
                if tuned:
                    torch.mm(acts[i].T, d, out=dWs[i])
                    torch.sum(d, 0, out=dbs[i])
                    if i > 0:
                        d = torch.ops.aten.threshold_backward(d @ Ws[i].T, acts[i], 0)
                    continue
                dWs[i].addmm_(acts[i].T, d)
                dbs[i].add_(d.sum(0))
                if i > 0:
                    d = (d @ Ws[i].T) * (acts[i] > 0)
            flat.add_(grad, alpha=-lr)
        float(loss_sum)  # the epoch report reads the loss once
    return flat


def torch_nn_loop(x, y, sizes, epochs, batch_size, lr, seed=0, start=None):
    """The same net with torch.nn + autograd + torch.optim.SGD(foreach=True); `start`: see
    `starting_weights`."""
    nn = torch.nn
    layers = []
    params = start if start is not None else init_params(sizes, seed, x.dtype)
    for i, (fan_in, fan_out) in enumerate(mlp_shapes(sizes)):
        lin = nn.Linear(fan_in, fan_out).to(x.dtype)
        with torch.no_grad():
            lin.weight.copy_(params[2 * i].T)
            lin.bias.copy_(params[2 * i + 1])
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    net = nn.Sequential(*layers)
    opt = torch.optim.SGD(net.parameters(), lr=lr, foreach=True)
    loss_fn = nn.MSELoss()
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        xs, ys = x[perm], y[perm]
        loss_sum = torch.zeros((), dtype=x.dtype)
        for start in range(0, n, batch_size):
            xb, yb = xs[start:start + batch_size], ys[start:start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            loss_sum.add_(loss.detach(), alpha=xb.shape[0])
        float(loss_sum)
    return net


def floor_loop(x, y, sizes, epochs, batch_size, lr, seed=0):
    """The work no implementation of the step can skip: per batch, each layer's forward matmul
    (x W + b), its weight-gradient matmul (x^T dz), the input-gradient matmul of every layer but the
    first, and one SGD pass over the flat parameters; into preallocated outputs, nothing else (no
    activation, no loss, no shuffling). The bar for `fit` on a compute-bound net."""
    params = init_params(sizes, seed, x.dtype)
    flat = torch.cat([p.reshape(-1) for p in params])
    grad = torch.zeros_like(flat)
    views, gviews, off = [], [], 0
    for p in params:
        views.append(flat[off:off + p.numel()].view(p.shape))
        gviews.append(grad[off:off + p.numel()].view(p.shape))
        off += p.numel()
    Ws, bs, dWs = views[0::2], views[1::2], gviews[0::2]
    n = x.shape[0]
    outs = [torch.empty(batch_size, w.shape[1], dtype=x.dtype) for w in Ws]
    dxs = [torch.empty(batch_size, w.shape[0], dtype=x.dtype) for w in Ws]
    for _ in range(epochs):
        for start in range(0, n - batch_size + 1, batch_size):
            h = x[start:start + batch_size]
            acts = [h]
            for i, W in enumerate(Ws):
                h = torch.addmm(bs[i], h, W, out=outs[i])
                acts.append(h)
            d = outs[-1]
            for i in range(len(Ws) - 1, -1, -1):
                torch.mm(acts[i].T, d, out=dWs[i])
                if i > 0:
                    d = torch.mm(d, Ws[i].T, out=dxs[i])
            flat.add_(grad, alpha=-lr)
    return flat


def starting_weights(sizes, seed=0, dtype=torch.float32):
    """The shared starting values, drawn once outside the timed runs, for the contenders that
    build a model: building it already draws that model's own initial values (its one
    initialisation, as `init_params` is the hand-written loops' one), and copying `start` in then
    puts every contender on the same trajectory. Drawing them inside the run would charge those
    contenders for a second initialisation that only the benchmark needs."""
    return init_params(sizes, seed, dtype)


def kerasette_fit(x, y, sizes, epochs, batch_size, lr, seed=0, callbacks=None, verbose=0,
                  functional=False, start=None):
    """kerasette's `fit` on the same net: a Sequential model, or with `functional=True` the same
    chain written with the functional API (ks.Model(inputs, outputs)); `start`: see
    `starting_weights` (drawn here when None)."""
    import kerasette as ks

    ks.utils.set_random_seed(seed)
    if functional:
        inputs = h = ks.Input((sizes[0],))
        for units in sizes[1:-1]:
            h = ks.layers.Dense(units, activation="relu")(h)
        model = ks.Model(inputs, ks.layers.Dense(sizes[-1])(h))
    else:
        layers = [ks.Input((sizes[0],))]
        for units in sizes[1:-1]:
            layers.append(ks.layers.Dense(units, activation="relu"))
        layers.append(ks.layers.Dense(sizes[-1]))
        model = ks.Sequential(layers)
    model.compile(optimizer=ks.optimizers.SGD(learning_rate=lr), loss="mse")
    if start is None:
        start = init_params(sizes, seed, x.dtype)
    model.set_weights([p.numpy() for p in start])
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose, callbacks=callbacks)
    return model


def alternate(contenders: dict, rounds: int):
    """Run each contender once per round, in turn; return {name: [seconds, ...]}."""
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def paired_ratio(times: dict, name: str, baseline: str) -> float:
    """Median over rounds of time[name] / time[baseline] in the same round.

    Runs alternate, so a slow spell on a shared machine hits both sides of a pair: the paired ratio is
    steadier than a ratio of medians.
    """
    return statistics.median(a / b for a, b in zip(times[name], times[baseline]))


def paired_spread(times: dict, name: str, baseline: str) -> str:
    """The lower and upper quartiles of the per-round ratios, e.g. "1.04-1.14": how far a single
    round strays on this machine (a ratio near a target is only as sure as this spread)."""
    ratios = [a / b for a, b in zip(times[name], times[baseline])]
    if len(ratios) < 4:
        return f"{min(ratios):.2f}-{max(ratios):.2f}"
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return f"{q1:.2f}-{q3:.2f}"


def report(times: dict, baseline: str, unit="s"):
    print(f"{'contender':<28}{'median':>10}{'min':>10}{'vs ' + baseline + ' (paired)':>28}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<28}{med:>9.3f}{unit}{min(ts):>9.3f}{unit}"
              f"{paired_ratio(times, name, baseline):>27.2f}x")
