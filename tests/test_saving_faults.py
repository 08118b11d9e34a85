"""Faults around files (issue 9): a crafted model file is refused before anything large is built,
and saves killed with SIGKILL leave a complete old-or-new file and no temporary files after the
next save."""

import json
import os
import random
import resource
import signal
import time

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.io_utils import atomic_save, remove_stale_temporaries, safe_load


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def saved_payload(tmp_path):
    model = ks.Sequential([ks.Input((2,)), ks.layers.Dense(3), ks.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
    path = tmp_path / "good.pt"
    model.save(path)
    return safe_load(path)


def crafted(tmp_path, payload, name="crafted.pt"):
    path = tmp_path / name
    torch.save(payload, path)
    return path


# ----- item 2: crafted files ------------------------------------------------------------------
def test_a_small_file_declaring_a_huge_model_is_refused_before_building(tmp_path):
    payload = saved_payload(tmp_path)
    arch = json.loads(payload["config"])
    arch["config"]["input_shape"] = [30000]
    arch["config"]["layers"][0]["config"]["units"] = 30000   # 9e8 values: 3.6 GB in float32
    payload["config"] = json.dumps(arch)
    path = crafted(tmp_path, payload)
    assert os.path.getsize(path) < 10_000
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    with pytest.raises(ValueError, match=r"crafted.pt.*\(30000, 30000\).*more than the tensors"):
        ks.models.load_model(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 500_000


@pytest.mark.parametrize("damage, pattern", [
    (lambda p: p.update(config="{not json"), "architecture is not valid JSON"),
    (lambda p: p.update(config="[" * 100_000 + "]" * 100_000), "architecture"),
    (lambda p: p.update(config=json.dumps({"class_name": "Sequential", "config": 3})),
     "expected an architecture"),
    (lambda p: p.update(config=123), "expected an architecture"),
    (lambda p: p.update(weights=["a", "b", "c", "d"]), "list of float tensors"),
    (lambda p: p.update(weights=p["weights"][:2], weight_names=p["weight_names"][:2]),
     "more than the tensors stored"),
    (lambda p: p["weights"][0].fill_(float("nan")), "finite"),
    (lambda p: p.update(config=json.dumps({"class_name": "Sequential", "config": {
        "layers": [{"class_name": "Nope", "config": {}}]}})), "cannot be built"),
    (lambda p: p.update(compile=json.dumps({"optimizer": "adam"})), "compile settings"),
])
def test_damaged_model_files_are_value_errors_naming_the_file(tmp_path, damage, pattern):
    payload = saved_payload(tmp_path)
    damage(payload)
    path = crafted(tmp_path, payload)
    with pytest.raises(ValueError, match=pattern) as info:
        ks.models.load_model(path)
    assert "crafted.pt" in str(info.value)


def test_load_weights_with_a_nan_value_changes_nothing(tmp_path):
    payload = saved_payload(tmp_path)
    payload["weights"][3].fill_(float("nan"))   # the last weight: the first three are fine
    path = crafted(tmp_path, payload)
    model = ks.Sequential([ks.Input((2,)), ks.layers.Dense(3), ks.layers.Dense(1)])
    before = model.get_weights()
    with pytest.raises(ValueError, match="crafted.pt.*finite"):
        model.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


# ----- item 5: killed saves -------------------------------------------------------------------
SIZE = 1 << 18  # 1 MiB of float32 per save


def writer(target, version, ready_fd):
    """In a forked child: save new versions of `target` forever (torch already imported)."""
    big = torch.empty(SIZE)
    while True:
        big.fill_(version)
        atomic_save({"version": version, "data": big}, target)
        os.write(ready_fd, b"s")
        version += 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")
def test_killed_saves_leave_a_complete_file_and_no_strays(tmp_path):
    target = str(tmp_path / "model.pt")
    atomic_save({"version": 0, "data": torch.zeros(SIZE)}, target)
    rng = random.Random(0)
    version = 1
    for _ in range(8):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child never returns into pytest
            try:
                os.close(read_fd)
                writer(target, version, write_fd)
            finally:
                os._exit(1)
        os.close(write_fd)
        os.read(read_fd, 1)                  # one save completed: the loop is running
        time.sleep(rng.uniform(0.0, 0.05))   # then kill it somewhere in a later save
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_fd)
        payload = safe_load(target)          # a complete old or new version
        data = payload["data"]
        assert data.numel() == SIZE and bool((data == payload["version"]).all())
        version = payload["version"] + 1000
    atomic_save({"version": -1, "data": torch.zeros(1)}, target)
    assert os.listdir(tmp_path) == ["model.pt"]
    assert safe_load(target)["version"] == -1


def test_a_live_writers_temporary_is_left_alone(tmp_path):
    from kerasette.io_utils import _host
    target = tmp_path / "m.pt"
    mine = tmp_path / f".m.pt.tmp-{_host()}-{os.getpid()}-abc"
    dead = tmp_path / f".other.pt.tmp-{_host()}-999999999-abc"   # no such pid: a dead writer
    foreign = tmp_path / ".m.pt.tmp-otherhost-1-abc"               # maybe alive on another host
    for p in (mine, dead, foreign):
        p.write_bytes(b"partial")
    assert remove_stale_temporaries(target) == [dead.name]
    assert mine.exists() and foreign.exists() and not dead.exists()


# ----- item 6: BackupAndRestore validates the whole backup before changing anything -----------
def backup_of(tmp_path, optimizer="sgd", epochs=2):
    model = ks.Sequential([ks.Input((2,)), ks.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    crash = ks.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: (_ for _ in ()).throw(
        RuntimeError("crash")) if e == 0 else None)
    backup = ks.callbacks.BackupAndRestore(tmp_path / "bk")
    with pytest.raises(RuntimeError, match="crash"):
        model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=epochs, verbose=0,
                  callbacks=[backup, crash])
    return backup.path


def fresh_model(optimizer="adam"):
    model = ks.Sequential([ks.Input((2,)), ks.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(np.ones((4, 2)), np.zeros((4, 1)), verbose=0)  # some optimizer state to keep
    return model


def resume(model, tmp_path, epochs=3):
    return model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=epochs, verbose=0,
                     callbacks=[ks.callbacks.BackupAndRestore(tmp_path / "bk")])


def unchanged(model, weights, state):
    after = model.optimizer.get_state()
    return same(model.get_weights(), weights) and after["iterations"] == state["iterations"] and \
        all(torch.equal(after["slots"][k], v) for k, v in state["slots"].items())


def test_a_backup_of_another_optimizer_changes_nothing(tmp_path):
    path = backup_of(tmp_path, "sgd")
    model = fresh_model("adam")
    weights, state = model.get_weights(), model.optimizer.get_state()
    with pytest.raises(ValueError, match=r"Invalid backup .*backup.pt.*Adam.*SGD"):
        resume(model, tmp_path)
    assert unchanged(model, weights, state) and os.path.exists(path)


@pytest.mark.parametrize("epoch", [-5, 10**9, 2.5, "1", None, True])
def test_a_backup_with_an_impossible_epoch_changes_nothing(tmp_path, epoch):
    path = backup_of(tmp_path)
    state = safe_load(path)
    state["epoch"] = epoch
    torch.save(state, path)
    model = fresh_model("sgd")
    weights, opt_state = model.get_weights(), model.optimizer.get_state()
    with pytest.raises(ValueError, match=r"backup.pt.*finished epochs in \[0, 3\]"):
        resume(model, tmp_path)
    assert unchanged(model, weights, opt_state) and os.path.exists(path)


@pytest.mark.parametrize("damage, pattern", [
    (lambda s: s.update(weights=[torch.full((2, 1), float("nan")), torch.zeros(1)]), "finite"),
    (lambda s: s.update(weights="nope"), "list of float weight tensors"),
    (lambda s: s.update(rng={"shuffle": torch.zeros(3)}), "generator states"),
    (lambda s: s["optimizer"].update(slots={"momentum": torch.zeros(99)}), "optimizer state"),
])
def test_a_damaged_backup_changes_nothing(tmp_path, damage, pattern):
    path = backup_of(tmp_path)
    state = safe_load(path)
    damage(state)
    torch.save(state, path)
    model = fresh_model("sgd")
    weights, opt_state = model.get_weights(), model.optimizer.get_state()
    with pytest.raises(ValueError, match=f"backup.pt.*{pattern}"):
        resume(model, tmp_path)
    assert unchanged(model, weights, opt_state)


class Payload:
    """Not plain data: torch.load(weights_only=True) refuses to build it."""


def test_a_malicious_backup_is_refused_without_torch_advice(tmp_path):
    (tmp_path / "bk").mkdir()
    torch.save({"format": 1, "evil": Payload()}, tmp_path / "bk" / "backup.pt")
    with pytest.raises(ValueError, match="Refused to load .*backup.pt.*could run code") as info:
        resume(fresh_model("sgd"), tmp_path)
    assert "weights_only=False" not in str(info.value)
