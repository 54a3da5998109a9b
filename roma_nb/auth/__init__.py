"""Authentication for ROMA Connect calls: ``httpx.Auth`` objects for sync and async clients.

- :class:`TokenAuth` sends a token you already have;
- :class:`PasswordAuth` logs in to IAM and keeps its token fresh;
- :class:`AkSkAuth` signs each request with an access key pair (``SDK-HMAC-SHA256``).

None of them shows a secret in its repr, and creating any of them installs a log filter that keeps
tokens and keys out of httpx / httpcore DEBUG output (``masking``). ``signing`` holds the pure
canonicalisation the AK/SK signature is built from.

Each class is loaded on first use, so code that only needs ``masking`` or ``signing`` (the
configuration module, the client's import) does not pay for the others.
"""

import importlib
from typing import TYPE_CHECKING, Any

from .masking import mask_secret

if TYPE_CHECKING:
    from .aksk import AkSkAuth
    from .password import PasswordAuth
    from .token import TokenAuth

__all__ = ["AkSkAuth", "PasswordAuth", "TokenAuth", "mask_secret"]

_LAZY = {"AkSkAuth": ".aksk", "PasswordAuth": ".password", "TokenAuth": ".token"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'roma_nb.auth' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
