"""The instance last chosen in each environment, kept for the life of the kernel.

Re-running a notebook cell builds a new panel; without a memory the person would pick the
instance again every time, and under pressure might pick the wrong one. Keyed by the environment
label, so a choice made against the sandbox is never offered for production.
"""

from __future__ import annotations

import threading

__all__ = ["forget_instances", "recall_instance", "remember_instance"]

_lock = threading.Lock()
_instances: dict[str, str] = {}


def remember_instance(environment: str, instance_id: str | None) -> None:
    """Remember (or, with None, forget) the instance chosen in ``environment``."""
    with _lock:
        if instance_id is None:
            _instances.pop(environment, None)
        else:
            _instances[environment] = instance_id


def recall_instance(environment: str) -> str | None:
    with _lock:
        return _instances.get(environment)


def forget_instances() -> None:
    """Forget every remembered choice (tests use it to start clean)."""
    with _lock:
        _instances.clear()
