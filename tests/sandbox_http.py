"""A raw httpx client for a sandbox's ROMA Connect API, for tests that look at the wire itself."""

from __future__ import annotations

import httpx

from roma_nb.sandbox import Sandbox


def api_client(sandbox: Sandbox) -> httpx.Client:
    """``httpx.Client`` based at ``{url}/v2/{project_id}`` with the sandbox's own token."""
    return httpx.Client(
        base_url=f"{sandbox.url}/v2/{sandbox.project_id}",
        headers={"X-Auth-Token": sandbox.token},
    )
