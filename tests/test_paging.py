"""The pager finds every item whatever ``offset`` means, and always stops."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from roma_nb.client._paging import Page, Pager, read_page
from roma_nb.errors import MalformedAnswer

Server = Callable[[int, int], Page]


def make_server(total: int, mode: str, start: int, *, cap: int | None = None) -> Server:
    """A list endpoint over ``total`` items where ``offset`` counts records or pages."""
    items = [{"id": f"id-{i}"} for i in range(total)]

    def fetch(offset: int, limit: int) -> Page:
        size = min(limit, cap) if cap else limit
        if mode == "records":
            first = max(0, offset - start)
        else:
            first = max(0, offset - start) * size
        return Page(items=items[first : first + size], total=total)

    return fetch


def drain(fetch: Server, limit: int, start: int) -> tuple[list[str], int]:
    pager = Pager(id_key="id", limit=limit, start=start)
    calls = 0
    while (offset := pager.next_offset()) is not None:
        calls += 1
        pager.feed(fetch(offset, limit))
        assert calls < 10_000
    return [str(item["id"]) for item in pager.items], calls


@given(
    total=st.integers(0, 600),
    limit=st.integers(1, 120),
    mode=st.sampled_from(["records", "pages"]),
    server_start=st.sampled_from([0, 1]),
    client_start=st.sampled_from([0, 1]),
)
@settings(max_examples=300, deadline=None)
def test_every_item_once_in_order_whatever_offset_means(
    total: int, limit: int, mode: str, server_start: int, client_start: int
) -> None:
    if mode == "records":
        server_start = client_start  # a record offset's origin is documented per endpoint
    fetch = make_server(total, mode, server_start)
    ids, calls = drain(fetch, limit, client_start)
    assert ids == [f"id-{i}" for i in range(total)]
    pages = -(-total // limit) if total else 1
    assert calls <= 2 * pages + 3


@given(total=st.integers(1, 400), limit=st.integers(1, 50), cap=st.integers(1, 50))
@settings(max_examples=150, deadline=None)
def test_a_server_that_returns_less_than_asked_is_still_read_fully(
    total: int, limit: int, cap: int
) -> None:
    ids, _ = drain(make_server(total, "records", 0, cap=cap), limit, 0)
    assert ids == [f"id-{i}" for i in range(total)]


def test_a_server_that_ignores_offset_stops_after_repeating_itself() -> None:
    def fetch(offset: int, limit: int) -> Page:
        return Page(items=[{"id": f"id-{i}"} for i in range(limit)], total=1000)

    ids, calls = drain(fetch, 10, 0)
    assert len(ids) == 10
    assert calls <= 4


def test_a_total_that_lies_does_not_loop_forever() -> None:
    def fetch(offset: int, limit: int) -> Page:
        return Page(items=[], total=10**9) if offset > 0 else Page([{"id": "a"}], 10**9)

    ids, calls = drain(fetch, 1, 0)
    assert ids == ["a"]
    assert calls <= 3


def test_missing_total_stops_on_a_short_page() -> None:
    items = [{"id": str(i)} for i in range(25)]

    def fetch(offset: int, limit: int) -> Page:
        return Page(items=items[offset : offset + limit], total=None)

    ids, _ = drain(fetch, 10, 0)
    assert ids == [str(i) for i in range(25)]


@given(
    body=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=20,
    )
)
def test_read_page_never_fails_on_any_json(body: object) -> None:
    """Any JSON is a page of objects with ids, or a ``MalformedAnswer`` (issue 17) — nothing
    else, and never a page that quietly dropped what it could not read."""
    try:
        page = read_page(body, "entities")
    except MalformedAnswer:
        return
    assert isinstance(body, dict) and len(page.items) == len(body.get("entities") or [])
    assert all(isinstance(item, dict) and item.get("id") not in (None, "") for item in page.items)
    assert page.total is None or isinstance(page.total, int)


@given(total=st.integers(1, 600), limit=st.integers(1, 120))
def test_a_record_counting_server_costs_no_extra_request(total: int, limit: int) -> None:
    ids, calls = drain(make_server(total, "records", 0), limit, 0)
    assert len(ids) == total
    assert calls == -(-total // limit)
