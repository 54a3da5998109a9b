"""``Environment``: where a plan may be applied, written so that no secret can be in it.

A plan is for one place: the sandbox, or one endpoint and one project. The endpoint is kept as
``scheme://host[:port]`` only: user info, path and query are dropped, so a URL that carries
credentials never reaches a plan file. Sandboxes listen on a new port each time they start, so
for them only the project is compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from ..errors import ValidationError
from ..ids import check_id
from ..models import SANDBOX_LABEL

__all__ = ["Environment", "Located"]


class Located(Protocol):
    """What ``Environment.of`` reads from a client (plans never import the client)."""

    @property
    def endpoint(self) -> str: ...

    @property
    def project_id(self) -> str: ...

    @property
    def environment(self) -> str: ...

    @property
    def is_sandbox(self) -> bool: ...


def _endpoint_only(endpoint: str) -> str:
    """``SANDBOX`` stays; anything else is reduced to ``scheme://host[:port]`` in lower case."""
    if not isinstance(endpoint, str):
        raise ValidationError(f"endpoint must be a string, not {type(endpoint).__name__}.")
    text = endpoint.strip()
    if text.upper() == SANDBOX_LABEL:
        return SANDBOX_LABEL
    parts = urlsplit(text if "://" in text else f"//{text}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host:
        raise ValidationError(
            "The endpoint has no host name; a plan needs to know where it may be applied."
        )
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    place = f"{host}:{port}" if port is not None else host
    return f"{parts.scheme.lower()}://{place}" if parts.scheme else place


@dataclass(frozen=True, slots=True)
class Environment:
    """``label`` is how people know the place (``SANDBOX`` or ``host / project …``);
    ``endpoint`` is ``SANDBOX`` or ``scheme://host[:port]``; ``project_id`` the project."""

    label: str
    endpoint: str
    project_id: str

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label.strip():
            raise ValidationError("An environment needs a label to show people.")
        object.__setattr__(self, "endpoint", _endpoint_only(self.endpoint))
        check_id("project_id", self.project_id)

    @classmethod
    def of(cls, client: Located) -> Environment:
        """The environment a client talks to (``RomaClient`` and ``AsyncRomaClient`` both fit)."""
        return cls(
            label=client.environment,
            endpoint=SANDBOX_LABEL if client.is_sandbox else client.endpoint,
            project_id=client.project_id,
        )

    @property
    def is_sandbox(self) -> bool:
        return self.endpoint == SANDBOX_LABEL

    def shown(self) -> str:
        """``SANDBOX / project p1`` or ``https://roma.example.com / project p1``."""
        return f"{self.endpoint} / project {self.project_id}"

    def same_place(self, other: Environment) -> bool:
        """The same project on the same endpoint (any sandbox counts as the same endpoint)."""
        return self.project_id == other.project_id and self.endpoint == other.endpoint
