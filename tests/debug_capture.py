"""DEBUG output of httpx, httpcore and roma_nb, captured as a user's log handler would see it.

The secrets scans search it; ``tests/conftest.py`` turns it into the ``debug_log`` fixture.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

LOGGERS = ("httpx", "httpcore", "roma_nb")


class DebugCapture(logging.Handler):
    """Formats every record the way a user's handler would, exception text included."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def capture_debug_logs() -> Iterator[DebugCapture]:
    """Set the loggers to DEBUG with a capturing handler; restore them afterwards."""
    capture = DebugCapture()
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(capture)
    try:
        yield capture
    finally:
        for logger, level in saved:
            logger.removeHandler(capture)
            logger.setLevel(level)
