"""The one error the history raises on purpose."""

from __future__ import annotations

from ..errors import RomaError

__all__ = ["HistoryError"]


class HistoryError(RomaError):
    """The history file cannot be used as asked: not ours, corrupt, too new, closed, or misused.

    Raised before anything is written, so a file that is refused is left byte-for-byte as it was.
    """
