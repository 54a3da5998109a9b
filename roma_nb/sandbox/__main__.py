"""``python -m roma_nb.sandbox``: the same as ``roma-nb sandbox``."""

from __future__ import annotations

import argparse
import sys

from roma_nb.cli.sandbox import add_arguments, run


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m roma_nb.sandbox", description="Run a local fake ROMA Connect."
    )
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
