"""Run every property test (Hypothesis `@given`) under many explicit seeds, one pytest process each.

    python tools/property_seeds.py                 # seeds 1..50
    python tools/property_seeds.py --seeds 7 9     # seeds 7 and 9 only
    python tools/property_seeds.py --first 51 --count 20

`python -m pytest` runs the property tests derandomized (the same examples everywhere, see
tests/conftest.py); `--hypothesis-seed=N` switches a run to fresh examples drawn from seed N. This
script collects the property tests once, runs them under each seed, prints one line per seed, and
exits non-zero if any seed failed (its pytest output is printed, with the seed to replay it:
`python -m pytest --hypothesis-seed=N <test id>`).
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLLECT = """
import sys, pytest

class PropertyTests:
    def pytest_collection_modifyitems(self, items):
        for item in items:
            fn = getattr(item, "function", None)
            if getattr(fn, "is_hypothesis_test", False):
                print("PROPERTY", item.nodeid)

sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
                     plugins=[PropertyTests()]))
"""


def property_tests() -> list[str]:
    out = subprocess.run([sys.executable, "-c", COLLECT], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    ids = [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("PROPERTY ")]
    if not ids:
        raise SystemExit("no property tests collected: is hypothesis installed?")
    return ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", help="explicit seeds (default: a range)")
    parser.add_argument("--first", type=int, default=1, help="first seed of the range (default 1)")
    parser.add_argument("--count", type=int, default=50, help="seeds in the range (default 50)")
    args = parser.parse_args()
    seeds = args.seeds or list(range(args.first, args.first + args.count))
    if any(s < 0 for s in seeds) or args.count < 1:
        parser.error(f"expected non-negative seeds and a positive count, received {seeds[:5]}")
    tests = property_tests()
    print(f"{len(tests)} property tests, {len(seeds)} seeds", flush=True)
    failed = []
    for seed in seeds:
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                              f"--hypothesis-seed={seed}", *tests], cwd=ROOT,
                             capture_output=True, text=True)
        summary = (run.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"seed {seed:>4}: rc {run.returncode}  {summary}  ({time.perf_counter() - start:.0f} s)",
              flush=True)
        if run.returncode != 0:
            failed.append(seed)
            print(run.stdout[-6000:], run.stderr[-2000:], sep="\n", flush=True)
    print(f"{len(seeds) - len(failed)} of {len(seeds)} seeds passed"
          + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
