"""Run every ``bench/bench_*.py`` module's ``main()``, or only the topics named on the command line.

Discovery is by file name, so adding a benchmark is adding a file. One benchmark failing does not
stop the others; the exit status says whether all of them ran.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

_PREFIX = "bench_"


def discover() -> list[str]:
    """Topics (``bench_<topic>.py``) in this package, sorted."""
    here = Path(__file__).resolve().parent
    return sorted(
        info.name[len(_PREFIX) :]
        for info in pkgutil.iter_modules([str(here)])
        if info.name.startswith(_PREFIX)
    )


def main(argv: Sequence[str] | None = None) -> int:
    available = discover()
    wanted = list(argv if argv is not None else sys.argv[1:]) or available
    unknown = [name for name in wanted if name not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(available)}")
        return 2
    failed: list[str] = []
    for topic in wanted:
        print(f"== bench_{topic} ==", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{_PREFIX}{topic}")
            status = module.main()
        except Exception:
            traceback.print_exc()
            status = 1
        if isinstance(status, int) and status != 0:
            failed.append(topic)
        print(f"== bench_{topic}: {time.perf_counter() - started:.1f} s ==\n", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
