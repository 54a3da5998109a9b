"""roma_nb: reset Huawei Cloud ROMA Connect FDI combined tasks safely, from Jupyter.

Every public name is importable from here, but each is loaded on first use (PEP 562), so
``import roma_nb`` costs about as much as ``import httpx``: pandas and ipywidgets are only imported
when a DataFrame or a widget is actually asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "ApiError": "roma_nb.errors",
    "AsyncRomaClient": "roma_nb.client",
    "AuthError": "roma_nb.errors",
    "AkSkAuth": "roma_nb.auth",
    "ConfigurationError": "roma_nb.errors",
    "DateFromPicker": "roma_nb.widgets",
    "Instance": "roma_nb.models",
    "InstancePicker": "roma_nb.widgets",
    "MonitorLog": "roma_nb.models",
    "NotFoundError": "roma_nb.errors",
    "OutcomeUnknown": "roma_nb.errors",
    "PasswordAuth": "roma_nb.auth",
    "ResetPanel": "roma_nb.widgets",
    "ResetResult": "roma_nb.models",
    "ResultLog": "roma_nb.history",
    "RewindResult": "roma_nb.models",
    "RetryPolicy": "roma_nb.client",
    "RomaClient": "roma_nb.client",
    "RomaError": "roma_nb.errors",
    "ServerError": "roma_nb.errors",
    "StepResult": "roma_nb.models",
    "Task": "roma_nb.models",
    "TaskMonitor": "roma_nb.models",
    "TaskPicker": "roma_nb.widgets",
    "ThrottledError": "roma_nb.errors",
    "TokenAuth": "roma_nb.auth",
    "TransportError": "roma_nb.errors",
    "ValidationError": "roma_nb.errors",
    "connect": "roma_nb.connection",
    "from_epoch_ms": "roma_nb.dates",
    "to_epoch_ms": "roma_nb.dates",
}

__all__ = [
    "AkSkAuth",
    "ApiError",
    "AsyncRomaClient",
    "AuthError",
    "ConfigurationError",
    "DateFromPicker",
    "Instance",
    "InstancePicker",
    "MonitorLog",
    "NotFoundError",
    "OutcomeUnknown",
    "PasswordAuth",
    "ResetPanel",
    "ResetResult",
    "ResultLog",
    "RetryPolicy",
    "RewindResult",
    "RomaClient",
    "RomaError",
    "ServerError",
    "StepResult",
    "Task",
    "TaskMonitor",
    "TaskPicker",
    "ThrottledError",
    "TokenAuth",
    "TransportError",
    "ValidationError",
    "connect",
    "from_epoch_ms",
    "to_epoch_ms",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .client import AsyncRomaClient, RetryPolicy, RomaClient
    from .dates import from_epoch_ms, to_epoch_ms
    from .errors import (
        ApiError,
        AuthError,
        ConfigurationError,
        NotFoundError,
        OutcomeUnknown,
        RomaError,
        ServerError,
        ThrottledError,
        TransportError,
        ValidationError,
    )
    from .models import (
        Instance,
        MonitorLog,
        ResetResult,
        RewindResult,
        StepResult,
        Task,
        TaskMonitor,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'roma_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
