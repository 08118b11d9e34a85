"""What the launcher says about this process: torchrun's environment variables, and the opt-out.

torchrun (`python -m torch.distributed.run`) starts one process per rank with WORLD_SIZE, RANK,
LOCAL_RANK, MASTER_ADDR and MASTER_PORT set. kerasette reads them, checks them and turns data-parallel
training on when WORLD_SIZE > 1, unless

    KERASETTE_DISTRIBUTION=off      # in the environment, or
    ks.distribution.set_distribution(None)   # in the script

says otherwise (then every process trains alone on all the data, as if launched by hand).
"""

import os
from dataclasses import dataclass

OPT_OUT_VARIABLE = "KERASETTE_DISTRIBUTION"
_OFF = {"0", "off", "false", "no", "none"}
_AUTO = {"", "1", "on", "true", "yes", "auto"}


@dataclass(frozen=True)
class Launch:
    """This process's place in the job: rank in [0, world_size), local_rank on its machine."""

    rank: int
    world_size: int
    local_rank: int | None


def _int_variable(env, name: str, minimum: int) -> int:
    raw = env[name]
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"Invalid environment variable {name}: expected an int >= {minimum}, "
                         f"received {raw!r}") from None
    if value < minimum:
        raise ValueError(f"Invalid environment variable {name}: expected an int >= {minimum}, "
                         f"received {raw!r}")
    return value


def read_launch(env=None) -> Launch:
    """The launch described by `env` (default os.environ); a lone process if WORLD_SIZE is unset."""
    env = os.environ if env is None else env
    if "WORLD_SIZE" not in env:
        return Launch(rank=0, world_size=1, local_rank=None)
    world_size = _int_variable(env, "WORLD_SIZE", 1)
    if "RANK" not in env:
        if world_size > 1:
            raise ValueError(f"Invalid environment: WORLD_SIZE={world_size} but RANK is not set "
                             "(launch with torchrun, or set RANK for every process)")
        rank = 0
    else:
        rank = _int_variable(env, "RANK", 0)
    if rank >= world_size:
        raise ValueError(f"Invalid environment variable RANK: expected an int in [0, {world_size}) "
                         f"for WORLD_SIZE={world_size}, received {env['RANK']!r}")
    local_rank = _int_variable(env, "LOCAL_RANK", 0) if "LOCAL_RANK" in env else None
    return Launch(rank=rank, world_size=world_size, local_rank=local_rank)


def opted_out(env=None) -> bool:
    """True when KERASETTE_DISTRIBUTION is one of 0/off/false/no/none (case-insensitive)."""
    env = os.environ if env is None else env
    value = env.get(OPT_OUT_VARIABLE, "").strip().lower()
    if value in _OFF:
        return True
    if value in _AUTO:
        return False
    raise ValueError(f"Invalid environment variable {OPT_OUT_VARIABLE}: expected 'off' (or 0, false, "
                     f"no, none) to turn data-parallel training off, or 'auto', received "
                     f"{env[OPT_OUT_VARIABLE]!r}")


def check_rendezvous(env=None) -> tuple[str, str]:
    """(MASTER_ADDR, MASTER_PORT) for `init_process_group(init_method='env://')`, checked."""
    env = os.environ if env is None else env
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if not env.get(name)]
    if missing:
        raise ValueError(f"Invalid environment: {' and '.join(missing)} not set; launch with "
                         "torchrun, or set MASTER_ADDR and MASTER_PORT to rank 0's address and a free "
                         "port on every process")
    _int_variable(env, "MASTER_PORT", 1)
    return env["MASTER_ADDR"], env["MASTER_PORT"]
