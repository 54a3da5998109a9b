"""Authentication for ROMA Connect calls: ``httpx.Auth`` objects for sync and async clients.

- :class:`TokenAuth` sends a token you already have;
- :class:`PasswordAuth` logs in to IAM and keeps its token fresh;
- :class:`AkSkAuth` signs each request with an access key pair (``SDK-HMAC-SHA256``).

None of them shows a secret in its repr, and creating any of them installs a log filter that keeps
tokens and keys out of httpx / httpcore DEBUG output (``masking``). ``signing`` holds the pure
canonicalisation the AK/SK signature is built from.
"""

from .aksk import AkSkAuth
from .masking import mask_secret
from .password import PasswordAuth
from .token import TokenAuth

__all__ = ["AkSkAuth", "PasswordAuth", "TokenAuth", "mask_secret"]
