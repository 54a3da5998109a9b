"""The ROMA Connect FDI clients: ``RomaClient`` (blocking) and ``AsyncRomaClient``.

Both drive one send engine (``_engine``): generators that yield "send this", "sleep this long"
and "record this", performed by a blocking loop (``_sync``) or an ``await`` loop (``_async``).
``AsyncRomaClient`` is loaded on first use: importing ``asyncio`` costs a plain script about
25 ms it does not need (in Jupyter it is already loaded).
"""

from typing import TYPE_CHECKING, Any

from ._base import DEFAULT_TIMEOUT, BaseRomaClient
from ._batch import BatchOutlook, BatchWatch, PlannedTarget, Progress, Recorder, Target
from ._engine import Call, Operation, StopSignal
from ._retry import RetryPolicy
from ._sync import RomaClient

if TYPE_CHECKING:
    from ._async import AsyncRomaClient

__all__ = [
    "DEFAULT_TIMEOUT",
    "AsyncRomaClient",
    "BaseRomaClient",
    "BatchOutlook",
    "BatchWatch",
    "Call",
    "Operation",
    "PlannedTarget",
    "Progress",
    "Recorder",
    "RetryPolicy",
    "RomaClient",
    "StopSignal",
    "Target",
]


def __getattr__(name: str) -> Any:
    if name == "AsyncRomaClient":
        from ._async import AsyncRomaClient

        return AsyncRomaClient
    raise AttributeError(f"module 'roma_nb.client' has no attribute {name!r}")
