"""roma_nb: reset Huawei Cloud ROMA Connect FDI combined tasks safely, from Jupyter.

Every public name is importable from here, but each is loaded on first use (PEP 562), so
``import roma_nb`` costs about as much as ``import httpx``: pandas and ipywidgets are only imported
when a DataFrame or a widget is actually asked for. ``_EXPORTS`` is the one table of public names
(``__all__`` is derived from it); the ``TYPE_CHECKING`` block repeats each import statically so
type checkers and IDEs see every name (``tests/test_exported_members.py`` keeps the two in step).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {  # public name -> the module that defines it
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

__all__ = sorted(_EXPORTS)  # noqa: PLE0605 - derived; the TYPE_CHECKING block is the static view

if TYPE_CHECKING:  # pragma: no cover - every name of _EXPORTS, for type checkers and IDEs
    from .auth import AkSkAuth as AkSkAuth
    from .auth import PasswordAuth as PasswordAuth
    from .auth import TokenAuth as TokenAuth
    from .client import AsyncRomaClient as AsyncRomaClient
    from .client import RetryPolicy as RetryPolicy
    from .client import RomaClient as RomaClient
    from .connection import connect as connect
    from .dates import from_epoch_ms as from_epoch_ms
    from .dates import to_epoch_ms as to_epoch_ms
    from .errors import ApiError as ApiError
    from .errors import AuthError as AuthError
    from .errors import ConfigurationError as ConfigurationError
    from .errors import NotFoundError as NotFoundError
    from .errors import OutcomeUnknown as OutcomeUnknown
    from .errors import RomaError as RomaError
    from .errors import ServerError as ServerError
    from .errors import ThrottledError as ThrottledError
    from .errors import TransportError as TransportError
    from .errors import ValidationError as ValidationError
    from .history import ResultLog as ResultLog
    from .models import Instance as Instance
    from .models import MonitorLog as MonitorLog
    from .models import ResetResult as ResetResult
    from .models import RewindResult as RewindResult
    from .models import StepResult as StepResult
    from .models import Task as Task
    from .models import TaskMonitor as TaskMonitor
    from .widgets import DateFromPicker as DateFromPicker
    from .widgets import InstancePicker as InstancePicker
    from .widgets import ResetPanel as ResetPanel
    from .widgets import TaskPicker as TaskPicker


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'roma_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
