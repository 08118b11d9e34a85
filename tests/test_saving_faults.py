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
