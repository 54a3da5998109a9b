"""Where callback errors go: the panel's ``Output`` widget and an ``errors`` list, never nowhere.

ipywidgets runs button and observer callbacks outside any cell, so an exception raised in one is
invisible unless something captures it (a ``Button`` swallows it into a log; a ``traitlets``
observer raises into whoever set the value). Every handler of ours is wrapped by
``ErrorSink.guard``: a ``RomaError`` (a refusal or an API error, already written for a person)
becomes its message; anything else becomes a traceback. Both are appended to ``errors`` and to
the output area. Safe to call from the background run thread.
"""

from __future__ import annotations

import functools
import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any, ParamSpec

import ipywidgets as w

from ..errors import RomaError

__all__ = ["ErrorSink"]

P = ParamSpec("P")

logger = logging.getLogger("roma_nb.widgets")


class ErrorSink:
    """An ``Output`` area plus the list of exceptions shown in it."""

    def __init__(self, output: Any | None = None) -> None:
        self.output = output if output is not None else w.Output()
        self.output.add_class("roma-output")
        self.errors: list[BaseException] = []
        self.notices: list[str] = []
        self._lock = threading.Lock()

    def error(self, where: str, exc: BaseException) -> str:
        """Record ``exc`` raised while doing ``where``; return the text shown."""
        if isinstance(exc, RomaError):
            text = f"{where}: {exc}\n"
        else:
            details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            text = f"{where} failed with an unexpected error:\n{details}"
            logger.error("%s failed", where, exc_info=exc)
        with self._lock:
            self.errors.append(exc)
            self.output.append_stderr(text)
        return text

    def notice(self, text: str) -> None:
        """A message that is not an error (a refused double click, a stop request)."""
        with self._lock:
            self.notices.append(text)
            self.output.append_stdout(text.rstrip("\n") + "\n")

    def clear(self) -> None:
        with self._lock:
            self.output.outputs = ()

    def guard(self, where: str) -> Callable[[Callable[P, object]], Callable[P, None]]:
        """Decorate a callback so that whatever it raises is recorded here, not lost (and what
        it returns is dropped: ipywidgets ignores it)."""

        def wrap(fn: Callable[P, object]) -> Callable[P, None]:
            @functools.wraps(fn)
            def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
                try:
                    fn(*args, **kwargs)
                except Exception as exc:
                    self.error(where, exc)

            return guarded

        return wrap
