"""Who may call the sandbox: IAM users, AK/SK pairs, issued tokens, and refused credentials.

Seeded from the sandbox seed, so a test (or ``roma-nb sandbox``) knows them without setup:
one user (``Accounts.username``), one AK/SK pair, and any extra ones given as options. Tokens
issued by ``POST /v3/auth/tokens`` are remembered with their expiry so an expired one can be
refused with 401 APIGW.0307. Nothing secret is in any ``repr``.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Accounts", "IssuedToken", "SandboxUser"]

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True, slots=True)
class SandboxUser:
    """An IAM user the sandbox's ``/v3/auth/tokens`` accepts."""

    name: str
    password: str = field(repr=False)
    domain: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token the sandbox issued: for whom, for which project, until when (epoch seconds)."""

    username: str
    project_id: str
    issued_at: float
    expires_at: float


def _seeded(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


class Accounts:
    """Users, AK/SK pairs and token bookkeeping, guarded by one lock."""

    def __init__(
        self,
        seed: int,
        *,
        users: Mapping[str, tuple[str, str]] | None = None,
        access_keys: Mapping[str, str] | None = None,
    ) -> None:
        rng = random.Random(f"roma-sandbox/{seed}/accounts")
        self.username = "sandbox-user"
        self.domain = "sandbox-domain"
        self.ak = "SBX" + _seeded(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 17)
        self.sk = _seeded(rng, _ALNUM, 40)
        password = "Sbx-" + _seeded(rng, _ALNUM, 12) + "!"
        self.users: dict[str, SandboxUser] = {
            self.username: SandboxUser(self.username, password, self.domain)
        }
        for name, (pw, domain) in (users or {}).items():
            self.users[name] = SandboxUser(name, pw, domain)
        self._keys = {self.ak: self.sk, **(access_keys or {})}
        self._lock = threading.Lock()
        self._issued: dict[str, IssuedToken] = {}
        self._rejected: set[str] = set()
        self._denied: set[str] = set()
        self._bad_signatures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"Accounts(users={sorted(self.users)!r}, access_keys={len(self._keys)})"

    @property
    def password(self) -> str:
        """The seeded user's password."""
        return self.users[self.username].password

    def secret_key(self, access_key: str) -> str | None:
        return self._keys.get(access_key)

    def check_password(self, name: str, password: str, domain: str) -> SandboxUser | None:
        user = self.users.get(name)
        if user is None or user.domain != domain:
            return None
        if not secrets.compare_digest(user.password.encode(), password.encode()):
            return None
        return user

    def issue(
        self, user: SandboxUser, project_id: str, lifetime_s: float
    ) -> tuple[str, IssuedToken]:
        """A new token (as long as real ones: a few KB) and what it stands for."""
        now = time.time()
        token = "MIIsbx" + secrets.token_urlsafe(1536)
        issued = IssuedToken(user.name, project_id, now, now + lifetime_s)
        with self._lock:
            self._issued[token] = issued
        return token, issued

    def issued(self, token: str) -> IssuedToken | None:
        with self._lock:
            return self._issued.get(token)

    def expire_tokens(self) -> None:
        """Make every token issued so far expired, as if its lifetime had passed."""
        now = time.time()
        with self._lock:
            for token, issued in self._issued.items():
                self._issued[token] = IssuedToken(
                    issued.username,
                    issued.project_id,
                    issued.issued_at,
                    min(issued.expires_at, now),
                )

    def reject(self, token: str) -> None:
        with self._lock:
            self._rejected.add(token)

    def deny(self, credential: str) -> None:
        with self._lock:
            self._denied.add(credential)

    def is_rejected(self, token: str) -> bool:
        with self._lock:
            return token in self._rejected

    def is_denied(self, credential: str) -> bool:
        with self._lock:
            return credential in self._denied

    def locked_for(self, access_key: str, now: float) -> float:
        """Seconds ``access_key`` stays locked after too many bad signatures (0 if it is not)."""
        with self._lock:
            return max(0.0, self._locked_until.get(access_key, 0.0) - now)

    def bad_signature(self, access_key: str, now: float, *, limit: int, lock_s: float) -> bool:
        """Count a bad signature; True when it locks the key (the ``limit``-th in ``lock_s``)."""
        with self._lock:
            recent = [t for t in self._bad_signatures.get(access_key, []) if t > now - lock_s]
            recent.append(now)
            if len(recent) >= limit:
                self._locked_until[access_key] = now + lock_s
                recent = []
            self._bad_signatures[access_key] = recent
            return not recent

    def clear(self) -> None:
        """Forget issued, rejected and denied credentials and AK locks (users and keys stay)."""
        with self._lock:
            self._issued.clear()
            self._rejected.clear()
            self._denied.clear()
            self._bad_signatures.clear()
            self._locked_until.clear()
