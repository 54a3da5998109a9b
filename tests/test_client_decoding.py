"""The bounded decoder: what httpx would have inflated, never more than the room given."""

from __future__ import annotations

import gzip
import itertools
import zlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hostile_server import hostile
from hypothesis import given
from hypothesis import strategies as st

from roma_nb.auth import TokenAuth
from roma_nb.client import RomaClient
from roma_nb.errors import MalformedAnswer
from roma_nb.transport.body import BoundedDecoder, UnreadableEncoding

PROJECT_ID = "0123456789abcdef0123456789abcdef"


def deflate_raw(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "identity": lambda data: data,
    "": lambda data: data,
}


def pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@given(
    body=st.binary(max_size=5000),
    encoding=st.sampled_from(sorted(ENCODERS)),
    cuts=st.lists(st.integers(min_value=0, max_value=6000), max_size=6),
)
def test_any_chunking_inflates_to_the_body(body: bytes, encoding: str, cuts: list[int]) -> None:
    decoder = BoundedDecoder(encoding)
    wire = ENCODERS[encoding](body)
    assert b"".join(decoder.decode(piece, None) for piece in pieces(wire, cuts)) == body


@given(body=st.binary(min_size=1, max_size=5000), room=st.integers(min_value=1, max_value=6000))
def test_no_decode_yields_more_than_its_room(body: bytes, room: int) -> None:
    out = BoundedDecoder("gzip").decode(gzip.compress(body), room)
    assert len(out) == min(len(body), room)


def test_raw_deflate_is_read_as_httpx_reads_it() -> None:
    assert BoundedDecoder("deflate").decode(deflate_raw(b"abc" * 100), None) == b"abc" * 100


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip", "compress"])
def test_an_encoding_not_asked_for_is_refused(encoding: str) -> None:
    with pytest.raises(UnreadableEncoding, match="did not ask for"):
        BoundedDecoder(encoding)


def test_bytes_that_do_not_inflate_are_refused() -> None:
    with pytest.raises(UnreadableEncoding, match="do not inflate"):
        BoundedDecoder("gzip").decode(b"certainly not gzip", None)


def answering(headers: dict[str, str], content: bytes, **options: Any) -> RomaClient:
    """A client whose every answer is built in memory (httpx decodes those itself)."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept-encoding"] == "gzip, deflate"
        return httpx.Response(200, headers=headers, content=content)

    transport = httpx.MockTransport(handler)
    auth = TokenAuth("t" * 40)
    return RomaClient(
        "https://roma.example", project_id=PROJECT_ID, auth=auth, transport=transport, **options
    )


def test_an_answer_built_in_memory_is_still_capped() -> None:
    body = b'{"instances": [], "total": 0}'
    with answering({"content-encoding": "gzip"}, gzip.compress(body)) as roma:
        assert roma.list_instances() == []
    with (
        answering({}, body, max_answer_bytes=10) as roma,
        pytest.raises(MalformedAnswer, match="larger than 10 bytes"),
    ):
        roma.list_instances()


def test_over_a_socket_raw_deflate_is_read_and_brotli_refused() -> None:
    auth = TokenAuth("t" * 40)
    with (
        hostile("raw-deflate") as server,
        RomaClient(server.url, project_id=PROJECT_ID, auth=auth) as roma,
    ):
        assert roma.list_instances() == []
    with (
        hostile("br") as server,
        RomaClient(server.url, project_id=PROJECT_ID, auth=auth) as roma,
        pytest.raises(MalformedAnswer, match=r"cannot be read: it is encoded as 'br'"),
    ):
        roma.list_instances()
