"""The ROMA Connect FDI clients: ``RomaClient`` (blocking) and ``AsyncRomaClient``."""

from ._async import AsyncRomaClient
from ._base import DEFAULT_TIMEOUT, BaseRomaClient, Call
from ._batch import Recorder, StopSignal, Target
from ._retry import RetryPolicy
from ._sync import Progress, RomaClient

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
