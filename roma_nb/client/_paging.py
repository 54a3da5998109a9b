"""Reading every page of a list endpoint, whatever ``offset`` turns out to mean.

The documentation is open on whether ``offset`` counts records or pages, and whether pages count
from 0 or 1 (``roma-api.md`` §2). Guessing wrong loses tasks silently, so the pager finds out: the
first request asks for ``offset=start``; if more remain, the second asks for ``offset=start+1`` and
looks at what came back:

* almost all of the first page again (shifted by one) → ``offset`` counts records;
* nothing of the first page → ``offset`` counts pages, starting at ``start``;
* exactly the first page again → ``offset`` counts pages, starting at ``start + 1``.

If a listing documented to start at 1 ends short of ``total``, the offset before the start is read
once too (a server counting from 0 after all). Whatever the reading, it stops when everything
announced by ``total`` has been seen, on an empty page, on a page that brings no new id, or after
``max_pages`` — it can never loop forever. The pager is pure (no I/O): the sync and async clients
drive the same object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Page", "Pager"]

Mode = Literal["unknown", "records", "pages"]


@dataclass(frozen=True, slots=True)
class Page:
    """What one list response held: its items (raw dicts) and the ``total`` it announced."""

    items: Sequence[Mapping[str, Any]]
    total: int | None


def read_page(body: Any, items_key: str) -> Page:
    """Pull the items and ``total`` out of a list response, tolerating missing fields."""
    if not isinstance(body, Mapping):
        return Page(items=(), total=None)
    raw_items = body.get(items_key)
    items = (
        [item for item in raw_items if isinstance(item, Mapping)]
        if isinstance(raw_items, list)
        else []
    )
    total = body.get("total")
    if isinstance(total, bool) or not isinstance(total, int):
        try:
            total = int(total) if isinstance(total, str) else None
        except ValueError:
            total = None
    return Page(items=items, total=total)


@dataclass
class Pager:
    """Decides the next ``offset`` from the pages seen so far.

    Use: ``while (offset := pager.next_offset()) is not None: pager.feed(fetch(offset))``, then
    ``pager.items`` holds every distinct item in the order the service returned them.
    """

    id_key: str
    limit: int
    start: int = 0
    max_pages: int = 10_000
    items: list[Mapping[str, Any]] = field(default_factory=list)
    mode: Mode = "unknown"
    _ids: set[str] = field(default_factory=set)
    _first_ids: list[str] = field(default_factory=list)
    _pages: int = 0
    _offset: int | None = None
    _page_index: int = 0
    _done: bool = False
    _total: int | None = None
    _looked_before_start: bool = False

    def __post_init__(self) -> None:
        self._offset = self.start
        self._origin = self.start

    def next_offset(self) -> int | None:
        """The offset to request next, or None when the listing is complete."""
        return None if self._done else self._offset

    def _item_id(self, item: Mapping[str, Any], position: int) -> str:
        value = item.get(self.id_key)
        return str(value) if value is not None else f"\0position-{self._pages}-{position}"

    def feed(self, page: Page) -> None:
        """Take the page that answered ``next_offset()`` and work out what to ask next."""
        if self._done:
            raise RuntimeError("the listing is already complete")
        self._pages += 1
        if page.total is not None:
            self._total = page.total
        ids = [self._item_id(item, i) for i, item in enumerate(page.items)]
        new = [(i, item) for i, item in zip(ids, page.items, strict=True) if i not in self._ids]
        if self._looked_before_start:
            for item_id, _ in new:
                self._ids.add(item_id)
            self.items[:0] = [item for _, item in new]
            self._done = True
            return
        if self._pages == 2 and self.mode == "unknown":
            self._settle_mode(ids)
        for item_id, item in new:
            self._ids.add(item_id)
            self.items.append(item)
        if self._pages == 1:
            self._first_ids = ids
        if self._finished(page, new_count=len(new)):
            if self._short_of_total() and self._origin > 0:
                # Documented to count from 1 but ended short: look once at the offset before.
                self._looked_before_start = True
                self._offset = self._origin - 1
                return
            self._done = True
            return
        self._advance()

    def _short_of_total(self) -> bool:
        return (
            self._total is not None
            and len(self.items) < self._total
            and (self._pages < self.max_pages)
        )

    def _settle_mode(self, second_ids: list[str]) -> None:
        overlap = len(set(second_ids) & set(self._first_ids))
        if second_ids == self._first_ids:
            self.mode = "pages"
            self.start += 1  # offset=start+1 was the first page again: pages count from start+1
            self._page_index = 0
        elif overlap == 0:
            self.mode = "pages"
            self._page_index = 1
        else:
            self.mode = "records"

    def _finished(self, page: Page, *, new_count: int) -> bool:
        if not page.items or self._pages >= self.max_pages:
            return True
        if self._total is not None and len(self.items) >= self._total:
            return True
        if self._total is None and len(page.items) < self.limit:
            return True
        # A page with nothing new ends the listing, except the probe that shows that pages count
        # from start+1 (it repeats the first page by design).
        return new_count == 0 and not (self._pages == 2 and self.mode == "pages")

    def _advance(self) -> None:
        if self.mode == "unknown":
            self._offset = self.start + 1  # the probe
        elif self.mode == "records":
            self._offset = self.start + len(self.items)
        else:
            self._page_index += 1
            self._offset = self.start + self._page_index
