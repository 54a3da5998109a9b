"""The ROMA Connect FDI clients: ``RomaClient`` (blocking) and ``AsyncRomaClient``.

``AsyncRomaClient`` is loaded on first use: importing ``asyncio`` costs a plain script about
25 ms it does not need (in Jupyter it is already loaded).
"""

from typing import TYPE_CHECKING, Any

from ._base import DEFAULT_TIMEOUT, BaseRomaClient, Call
from ._batch import Recorder, StopSignal, Target
from ._retry import RetryPolicy
from ._sync import Progress, RomaClient

if TYPE_CHECKING:
    from ._async import AsyncRomaClient

__all__ = [
    "DEFAULT_TIMEOUT",
    "AsyncRomaClient",
    "BaseRomaClient",
    "Call",
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
