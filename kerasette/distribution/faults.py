"""Turn a failed collective into one clear error, and refuse collectives after it.

When a peer raises, is killed or stops answering, torch.distributed's gloo backend fails the pending
collective on the survivors: at once when the peer's sockets close (it exited or was killed), after
the process group's timeout when it merely hangs. `CollectiveGuard` turns that into a RuntimeError
that names this rank, what it was doing and the timeout, and remembers it: every later collective on
this process fails at once instead of waiting again on a broken group.
"""

import contextlib


def _first_line(error: BaseException, limit: int = 300) -> str:
    text = str(error).strip().splitlines()
    text = text[0] if text else type(error).__name__
    return text if len(text) <= limit else text[:limit] + "..."


class CollectiveGuard:
    def __init__(self, rank: int, world_size: int, timeout: float):
        self.rank, self.world_size, self.timeout = rank, world_size, timeout
        self.failure: str | None = None

    def who(self) -> str:
        return f"rank {self.rank} of {self.world_size}"

    def check_alive(self, what: str) -> None:
        if self.failure is not None:
            raise RuntimeError(f"kerasette.distribution: {self.who()} cannot run {what}: an earlier "
                               f"collective failed ({self.failure})")

    def explain(self, what: str, error: BaseException) -> str:
        text = _first_line(error)
        if "timed out" in text.lower() or "timeout" in text.lower():
            cause = f"a peer did not answer within the timeout of {self.timeout:g} s"
        else:
            cause = "a peer process raised, exited or was killed"
        return (f"kerasette.distribution: {self.who()} failed during {what}: {cause} "
                f"[{type(error).__name__}: {text}]. Every rank must reach the same collectives in "
                f"the same order; the first error is in the other ranks' output.")

    @contextlib.contextmanager
    def running(self, what: str):
        """Run a collective: its failure becomes a RuntimeError naming the rank and `what`."""
        self.check_alive(what)
        try:
            yield
        except Exception as error:  # gloo raises RuntimeError, NCCL DistBackendError and friends
            message = self.explain(what, error)
            self.failure = f"{what}: {_first_line(error, 120)}"
            raise RuntimeError(message) from error
