"""kerasette.distribution: sharding, the environment, the packed step buffer and argument checks in
this process; the collectives in REAL processes (gloo on 127.0.0.1), 2 and 3 ranks, under torchrun
and launched by hand, including ranks that exit, are SIGKILLed, raise or hang.

The multi-process tests bound every launch with a subprocess timeout; workers use short collective
timeouts, so a regression shows up as a failure in seconds, never as a hung suite.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import kerasette as ks
from kerasette.distribution import current, environment
from kerasette.distribution.packing import Packing
from kerasette.distribution.strategy import Strategy

WORKERS = Path(__file__).resolve().parent / "distributed"
ROOT = Path(__file__).resolve().parents[1]


# ---- in this process ----------------------------------------------------------------------------

@pytest.mark.parametrize("world", [1, 2, 3, 4, 7])
def test_shard_bounds_cover_every_row_once_in_rank_order(world):
    for n in range(0, 40):
        bounds = [ks.distribution.shard_bounds(n, r, world) for r in range(world)]
        rows = [i for lo, hi in bounds for i in range(lo, hi)]
        assert rows == list(range(n))
        sizes = [hi - lo for lo, hi in bounds]
        assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
        assert sizes == ks.distribution.shard_sizes(n, world)


def test_shard_bounds_examples_and_bad_arguments():
    assert [ks.distribution.shard_bounds(10, r, 3) for r in range(3)] == [(0, 4), (4, 7), (7, 10)]
    assert [ks.distribution.shard_bounds(1, r, 3) for r in range(3)] == [(0, 1), (1, 1), (1, 1)]
    with pytest.raises(ValueError, match="Invalid n: expected an int >= 0, received -1"):
        ks.distribution.shard_bounds(-1, 0, 2)
    with pytest.raises(ValueError, match=r"Invalid rank: expected an int in \[0, 2\), received 2"):
        ks.distribution.shard_bounds(5, 2, 2)
    with pytest.raises(ValueError, match="Invalid world_size"):
        ks.distribution.shard_bounds(5, 0, 0)
    with pytest.raises(ValueError, match="Invalid n"):
        ks.distribution.shard_bounds(2.5, 0, 1)


def test_read_launch_from_torchrun_variables():
    launch = environment.read_launch({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"})
    assert (launch.rank, launch.world_size, launch.local_rank) == (3, 4, 1)
    assert environment.read_launch({}).world_size == 1
    with pytest.raises(ValueError, match="WORLD_SIZE=2 but RANK is not set"):
        environment.read_launch({"WORLD_SIZE": "2"})
    with pytest.raises(ValueError, match=r"RANK: expected an int in \[0, 2\).*'2'"):
        environment.read_launch({"WORLD_SIZE": "2", "RANK": "2"})
    with pytest.raises(ValueError, match="WORLD_SIZE: expected an int >= 1, received 'two'"):
        environment.read_launch({"WORLD_SIZE": "two", "RANK": "0"})
    with pytest.raises(ValueError, match="MASTER_ADDR and MASTER_PORT not set"):
        environment.check_rendezvous({})
    with pytest.raises(ValueError, match="KERASETTE_DISTRIBUTION.*'maybe'"):
        environment.opted_out({"KERASETTE_DISTRIBUTION": "maybe"})
    assert environment.opted_out({"KERASETTE_DISTRIBUTION": "OFF"})
    assert not environment.opted_out({})


@pytest.fixture
def clean_distribution(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", environment.OPT_OUT_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    current._reset()
    yield monkeypatch
    current._reset()


def test_detection_and_the_two_opt_outs(clean_distribution):
    monkeypatch = clean_distribution
    assert ks.distribution.distribution() is None  # a lone process
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    found = ks.distribution.distribution()
    assert isinstance(found, ks.distribution.DataParallel) and found is ks.distribution.distribution()
    assert (found.rank, found.world_size, found.local_rank, found.num_processes) == (1, 2, 1, 2)
    monkeypatch.setenv("KERASETTE_DISTRIBUTION", "off")
    assert ks.distribution.distribution() is None
    monkeypatch.delenv("KERASETTE_DISTRIBUTION")
    ks.distribution.set_distribution(None)
    assert ks.distribution.distribution() is None
    mine = ks.distribution.DataParallel(timeout=5)
    ks.distribution.set_distribution(mine)
    assert ks.distribution.distribution() is mine
    other = ks.distribution.DataParallel()
    with other.scope():
        assert ks.distribution.distribution() is other
    assert ks.distribution.distribution() is mine
    with pytest.raises(TypeError, match="expected a ks.distribution.DataParallel or None, received str"):
        ks.distribution.set_distribution("data_parallel")


def test_data_parallel_bad_arguments(clean_distribution):
    with pytest.raises(ValueError, match="Invalid timeout: expected a positive number.*received 0"):
        ks.distribution.DataParallel(timeout=0)
    with pytest.raises(ValueError, match="Invalid backend.*received 'mpi'"):
        ks.distribution.DataParallel(backend="mpi")
    with pytest.raises(ValueError, match="Invalid devices: expected None or a non-empty list"):
        ks.distribution.DataParallel(devices="cpu")
    with pytest.raises(ValueError, match=r"Invalid devices\[1\].*received 'toaster'"):
        ks.distribution.DataParallel(devices=["cpu", "toaster"])
    assert ks.distribution.DataParallel(devices=["gpu:1"]).devices == [torch.device("cuda", 1)]
    with pytest.raises(ValueError, match="'nccl' needs a CUDA model.*'cpu'"):
        ks.distribution.DataParallel(backend="nccl").connect("cpu")
    import datetime
    assert ks.distribution.DataParallel(timeout=datetime.timedelta(seconds=3)).timeout == 3.0


def test_a_lone_process_gets_a_no_op_strategy(clean_distribution):
    dp = ks.distribution.DataParallel()
    s = dp.connect()
    assert (s.rank, s.world_size, s.is_writer, s.shard_bounds(5)) == (0, 1, True, (0, 5))
    g = torch.arange(4.0)
    assert s.reduce_step([g, torch.tensor(2.0)])[0] is g and torch.equal(g, torch.arange(4.0))
    x = torch.ones(3, 2)
    assert s.gather_rows(x) is x
    assert s.any_rank(True) and not s.any_rank(False)
    with s.writer_section() as writing:
        assert writing
    assert s.writer_only(lambda: 5)() == 5
    assert dp.connect() is s
    with pytest.raises(ValueError, match="connected on 'cpu', received 'meta'"):
        dp.connect("meta")


def test_collective_arguments_are_checked_first():
    s = Strategy(rank=0, world_size=1, device="cpu")
    with pytest.raises(TypeError, match="Invalid tensors for reduce_step: expected a list of tensors, "
                                        "received Tensor"):
        s.reduce_step(torch.ones(3))
    with pytest.raises(TypeError, match=r"Invalid tensors\[1\] for reduce_step: expected a "
                                        r"torch.Tensor, received float"):
        s.reduce_step([torch.ones(3), 2.0])
    with pytest.raises(ValueError, match="expected at least one tensor"):
        s.broadcast_from_writer([])
    with pytest.raises(ValueError, match=r"tensors\[0\] for broadcast_from_writer: expected a tensor "
                                         r"on this rank's device 'cpu', received one on 'meta'"):
        s.broadcast_from_writer([torch.ones(2, device="meta")])
    with pytest.raises(ValueError, match="expected at least one axis"):
        s.gather_rows(torch.tensor(1.0))


def test_packing_round_trip_casts_and_adopted_views():
    tensors = [torch.arange(6.0).view(2, 3), torch.tensor(2.5), torch.tensor(7), torch.tensor(True)]
    p = Packing(tensors)
    assert p.dtype == torch.float32 and p.buffer.numel() == 9
    buf = p.pack(tensors)
    assert buf.tolist() == [0, 1, 2, 3, 4, 5, 2.5, 7, 1]
    buf.mul_(2)
    p.unpack(tensors)
    assert tensors[0].tolist() == [[0, 2, 4], [6, 8, 10]] and tensors[1].item() == 5.0
    assert tensors[2].item() == 14 and tensors[2].dtype == torch.int64 and tensors[3].item() is True
    views = p.views(tensors)
    assert views[2] is None and views[3] is None
    views[0].fill_(3.0)  # a caller keeping its gradients in the buffer: no copy in or out
    adopted = [views[0], *tensors[1:]]
    assert p.pack(adopted)[:6].tolist() == [3.0] * 6


def test_step_views_are_the_buffer_reduce_step_uses():
    s = Strategy(rank=0, world_size=1, device="cpu")
    grads, loss = torch.zeros(5), torch.zeros(())
    views = s.step_views([grads, loss])
    s.reduce_step([views[0], views[1]])
    assert len(s._packings._packings) == 1


def test_the_package_docstring_states_the_trainer_contract():
    doc = ks.distribution.__doc__
    for phrase in ("GLOBAL batch", "sum_{i in share} w_i * l_i / N", "reduce_step",
                   "[grads, loss_sum, count, *metric_increments,\n",
                   "[nonfinite, stop, f, f * f]]", "fingerprint",
                   "take their share", "KERASETTE_DISTRIBUTION=off", "set_distribution(None)"):
        assert phrase in doc, phrase


# ---- real processes -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "KERASETTE_DISTRIBUTION")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def single_process_reference(worker: str) -> dict:
    """`run_cases()` of tests/distributed/<worker>.py in this process, without a distribution: what
    every rank must match. The workers train in float64; the default float32 is restored after."""
    import importlib

    import kerasette as ks

    sys.path.insert(0, str(Path(__file__).resolve().parent / "distributed"))
    try:
        return importlib.import_module(worker).run_cases()
    finally:
        ks.config.set_floatx("float32")


def launch(script, world, args, limit, last=()):
    """Start `world` ranks of `script` by hand (torchrun's variables, one port); wait at most `limit`
    seconds for them (the ranks in `last` are waited for only after the others, then killed);
    kill what is left. Returns [(returncode, output)] in rank order."""
    port = free_port()
    procs = []
    for rank in range(world):
        env = worker_env(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, WORLD_SIZE=world, RANK=rank,
                         LOCAL_RANK=rank)
        procs.append(subprocess.Popen([sys.executable, str(WORKERS / script), *map(str, args)],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    start = time.monotonic()
    results = {}
    for rank in [r for r in range(world) if r not in last] + list(last):
        p = procs[rank]
        wait = 0.1 if rank in last else max(0.1, limit - (time.monotonic() - start))
        try:
            out, _ = p.communicate(timeout=wait)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
            out += "\n<killed by the test: still running>"
        results[rank] = (p.returncode, out)
    return [results[r] for r in range(world)]


def launch_reports(script, world, out_dir, limit) -> list:
    """`launch` a worker that writes out_dir/rank<r>.json; assert every rank exited 0 (showing the
    failed rank's output) and return the ranks' reports in rank order."""
    for rank, (code, out) in enumerate(launch(script, world, [out_dir], limit=limit)):
        assert code == 0, f"rank {rank} failed:\n{out[-3000:]}"
    return [json.loads((Path(out_dir) / f"rank{r}.json").read_text()) for r in range(world)]


def check_primitives_reports(out_dir, world):
    for rank in range(world):
        report = json.loads((out_dir / f"rank{rank}.json").read_text())
        assert report["world_size"] == world
    for n in range(0, 3 * world + 2):
        bounds = [json.loads((out_dir / f"rank{r}.json").read_text())["bounds"][str(n)]
                  for r in range(world)]
        assert [i for lo, hi in bounds for i in range(lo, hi)] == list(range(n))
    written = sorted(p.name for p in out_dir.glob("*.txt")) + [p.name for p in out_dir.glob("*.csv")]
    assert written == ["decorated_rank0.txt", "written_by_rank0.txt", "log_rank0.csv"]  # rank 0 only
    assert (out_dir / "log_rank0.csv").read_text().splitlines() == ["epoch,loss", "0,0.5", "1,0.25"]


def test_primitives_on_2_ranks_under_torchrun(tmp_path):
    port = free_port()
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--master_addr", "127.0.0.1", "--master_port", str(port),
           str(WORKERS / "primitives_worker.py"), str(tmp_path), "20"]
    done = subprocess.run(cmd, env=worker_env(), capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    check_primitives_reports(tmp_path, 2)


def test_primitives_on_3_ranks_with_an_empty_share(tmp_path):
    results = launch("primitives_worker.py", 3, [tmp_path, 20], limit=90)
    for rank, (code, out) in enumerate(results):
        assert code == 0, f"rank {rank}:\n{out}"
    check_primitives_reports(tmp_path, 3)


@pytest.mark.parametrize("mode, world", [("sigkill", 3), ("raise", 2), ("hang", 2)])
def test_a_failed_rank_makes_the_others_fail_clearly_within_the_timeout(mode, world):
    """SIGKILL (3 ranks: both survivors), an uncaught exception, and a rank that stops answering:
    each survivor raises kerasette's RuntimeError naming itself and the step, then exits non-zero."""
    timeout = 4.0
    victim = world - 1
    results = launch("fault_worker.py", world, [mode, victim, timeout], limit=60, last=[victim])
    for rank, (code, out) in enumerate(results):
        if rank == victim:
            continue
        assert f"rank {rank} ready" in out, out
        assert code != 0 and "SURVIVED" not in out and "<killed by the test" not in out, out
        assert (f"RuntimeError: kerasette.distribution: rank {rank} of {world} failed during "
                f"reduce_step (epoch 0, step 1)") in out, out
        cause = "did not answer within the timeout of 4 s" if mode == "hang" else \
            "a peer process raised, exited or was killed"
        assert cause in out, out
        waited = float(re.search(r"FAILED after ([\d.]+) s", out).group(1))
        assert waited < 3 * timeout + 5  # bounded by the timeout (loosely: a busy shared machine)


def test_a_rank_whose_peer_never_starts_fails_to_join_within_the_timeout():
    env = worker_env(MASTER_ADDR="127.0.0.1", MASTER_PORT=free_port(), WORLD_SIZE=2, RANK=0,
                     LOCAL_RANK=0)
    code = ("import kerasette as ks\n"
            "ks.distribution.DataParallel(timeout=3).connect('cpu')\n")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert "rank 0 of 2 could not join the process group at 127.0.0.1" in done.stderr, done.stderr
    assert "within 3 s" in done.stderr


def test_distributed_disk_example_runs_in_one_process(clean_distribution, capsys):
    sys.path.insert(0, str(ROOT / "examples"))
    import importlib.util

    spec = importlib.util.spec_from_file_location("_example_distributed_disk",
                                                  ROOT / "examples" / "distributed_disk.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    try:
        acc, checksum = module.main(["--epochs", "2"])
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "1 process(es): no distribution" in out and f"weights checksum {checksum:.10f}" in out
    assert 0.0 <= acc <= 1.0


def test_draw_rows_gives_each_rank_the_global_draw_of_its_rows():
    from kerasette.distribution.share import current_share, draw_rows, global_batch

    def draw(shape):
        return torch.rand(shape, generator=torch.Generator().manual_seed(3))

    full = draw((10, 4))
    pieces = []
    for rank in range(3):
        lo, hi = ks.distribution.shard_bounds(10, rank, 3)
        with global_batch(lo, hi, 10):
            assert current_share() == (lo, hi, 10)
            pieces.append(draw_rows(draw, (hi - lo, 4)))
            assert draw_rows(draw, (5, 4)).shape == (5, 4)  # not this share: drawn as asked
    assert current_share() is None
    assert torch.equal(torch.cat(pieces), full)
    assert draw_rows(draw, (2, 4)).shape == (2, 4)
    with pytest.raises(ValueError, match="Invalid share.*lo=3, hi=2"):
        with global_batch(3, 2, 5):
            pass


def test_step_sync_in_one_process_is_the_plain_step():
    from kerasette.distribution.step import StepSync

    s = Strategy(rank=0, world_size=1, device="cpu")
    grads = torch.ones(4, dtype=torch.float64)
    sync = StepSync(s, grads, metric_states=[torch.zeros(2, dtype=torch.float64)])
    assert sync.begin(6) == (0, 6) and sync.scale == 1.0
    r = sync.reduce(torch.tensor(0.5, dtype=torch.float64), stop=True)
    assert (r.count, r.stop, r.nonfinite, float(r.loss), float(r.loss_sum)) == (6, True, False, 0.5, 3.0)
    sync.begin(3)
    r = sync.reduce(torch.tensor(float("nan"), dtype=torch.float64))
    assert r.nonfinite and not r.stop
    assert torch.equal(grads, torch.ones(4, dtype=torch.float64))


def test_writer_only_forwards_every_hook_in_one_process_and_wraps_only_writers(tmp_path):
    from kerasette.callbacks.callback import HOOKS
    from kerasette.distribution.writer_callbacks import WriterOnly, wrap_writers

    calls = []

    class Recorder(ks.callbacks.Callback):
        pass

    for hook in HOOKS:
        setattr(Recorder, hook, lambda self, *a, _h=hook, **k: calls.append(_h))
    s = Strategy(rank=0, world_size=1, device="cpu")
    wrapped = WriterOnly(Recorder(), s)
    for hook in HOOKS:
        assert wrapped._wants_hook(hook)
        getattr(wrapped, hook)(*([0] if "epoch" in hook or "batch" in hook or "backward" in hook
                                 else []))
    assert calls == list(HOOKS)
    stop = ks.callbacks.EarlyStopping()
    out = wrap_writers([ks.callbacks.CSVLogger(str(tmp_path / "a.csv")), stop], s)
    assert isinstance(out[0], WriterOnly) and out[1] is stop
    assert not out[0]._wants_hook("on_train_batch_end")
    with pytest.raises(TypeError, match="Invalid inner: expected a ks.callbacks.Callback, received int"):
        WriterOnly(3, s)
