"""Reading every page of a list endpoint, whatever ``offset`` turns out to mean.

The documentation is open on whether ``offset`` counts records or pages, and whether pages count
from 0 or 1 (``roma-api.md`` §2). Guessing wrong loses tasks silently, so the pager checks:

* It first reads ``offset`` as a record count (what the sandbox and the SDK's examples suggest),
  which costs nothing extra when it is right.
* If the listing then ends short of the ``total`` the service announced — or if no ``total`` is
  given, so a shortfall could not be seen — it probes ``offset=start+1`` and compares with the
  first page: almost the same items shifted by one → records; nothing in common → pages counted
  from ``start``; exactly the first page again → pages counted from ``start + 1``. It then goes on
  in that reading; items are de-duplicated by id, so nothing is listed twice.
* If a listing documented to start at 1 still ends short, the offset before the start is read
  once (a server counting from 0 after all).

Whatever happens it stops when everything announced has been seen, on an empty page, on a page
that brings no new id, or after ``max_pages`` — it can never loop forever. The pager is pure (no
I/O): the sync and async clients drive the same object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import MalformedAnswer

__all__ = ["Page", "Pager"]

Mode = Literal["unknown", "records", "pages"]


@dataclass(frozen=True, slots=True)
class Page:
    """What one list response held: its items (raw dicts) and the ``total`` it announced."""

    items: Sequence[Mapping[str, Any]]
    total: int | None


def _malformed(action: str, what: str) -> MalformedAnswer:
    return MalformedAnswer(
        f"{action} failed: the service's answer is malformed ({what}), so it was refused "
        "rather than read as fewer records.",
        status_code=200,
    )


def read_page(body: Any, items_key: str, action: str = "Listing", id_key: str = "id") -> Page:
    """Pull the items and ``total`` out of a list response, refusing what is not a list.

    An absent or null list is an empty page (servers leave it out when there is nothing), and an
    absent ``total`` is tolerated; but a list that is not a list, an item that is not an object,
    or an item without its ``id_key`` (or ``id``) is a ``MalformedAnswer``: read leniently, it
    would become "no tasks", or a record with an empty id that a reset would then be sent to.
    """
    if not isinstance(body, Mapping):
        raise _malformed(action, f"a {type(body).__name__}, not an object")
    raw_items = body.get(items_key)
    if raw_items is None:
        raw_items = []
    if not isinstance(raw_items, list):
        raise _malformed(action, f"{items_key!r} is a {type(raw_items).__name__}, not a list")
    for number, item in enumerate(raw_items, 1):
        if not isinstance(item, Mapping):
            raise _malformed(action, f"record {number} is a {type(item).__name__}")
        if all(item.get(key) in (None, "") for key in (id_key, "id")):
            raise _malformed(action, f"record {number} has no {id_key!r}")
    items: list[Mapping[str, Any]] = raw_items
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
    ``pager.items`` holds every distinct item, in the order the service returned them.
    """

    id_key: str
    limit: int
    start: int = 0
    max_pages: int = 10_000
    items: list[Mapping[str, Any]] = field(default_factory=list)
    mode: Mode = "unknown"
    _confirmed: bool = False
    _probing: bool = False
    _looking_before: bool = False
    _ids: set[str] = field(default_factory=set)
    _first_ids: list[str] = field(default_factory=list)
    _pages: int = 0
    _offset: int = 0
    _page_index: int = 0
    _done: bool = False
    _total: int | None = None

    def __post_init__(self) -> None:
        self._offset = self.start
        self._origin = self.start

    @property
    def total(self) -> int | None:
        """The ``total`` the service announced last, if any."""
        return self._total

    def next_offset(self) -> int | None:
        """The offset to request next, or None when the listing is complete."""
        return None if self._done else self._offset

    def _item_id(self, item: Mapping[str, Any]) -> str:
        """The item's id; for a record without one, its content (so a repeated page is seen)."""
        value = item.get(self.id_key)
        if value is not None:
            return str(value)
        return "\0" + json.dumps(item, sort_keys=True, default=repr)

    def feed(self, page: Page) -> None:
        """Take the page that answered ``next_offset()`` and work out what to ask next."""
        if self._done:
            raise RuntimeError("the listing is already complete")
        self._pages += 1
        if page.total is not None:
            self._total = page.total
        ids = [self._item_id(item) for item in page.items]
        repeats_first_page = False
        if self._probing:
            self._probing = False
            repeats_first_page = self._settle_mode(ids)
        new = [(i, item) for i, item in zip(ids, page.items, strict=True) if i not in self._ids]
        self._ids.update(item_id for item_id, _ in new)
        if self._looking_before:
            self.items[:0] = [item for _, item in new]
            self._done = True
            return
        self.items.extend(item for _, item in new)
        if self._pages == 1:
            self._first_ids = ids
        if self._finished(page, new_count=len(new), repeats_first_page=repeats_first_page):
            self._after_the_end()
        elif self._pages == 1 and self._total is None:
            self._probe()  # no total: a shortfall would go unseen, so find out now
        else:
            if self.mode == "unknown":
                self.mode = "records"
            self._advance()

    def _probe(self) -> None:
        self._probing = True
        self._offset = self.start + 1

    def _after_the_end(self) -> None:
        if self._short_of_total() and not self._confirmed and self._first_ids:
            self._probe()
        elif self._short_of_total() and self._origin > 0 and not self._looking_before:
            self._looking_before = True
            self._offset = self._origin - 1
        else:
            self._done = True

    def _short_of_total(self) -> bool:
        return (
            self._total is not None
            and len(self.items) < self._total
            and self._pages < self.max_pages
        )

    def _settle_mode(self, probe_ids: list[str]) -> bool:
        """Read the probe; True when it repeated the first page (pages count from start+1)."""
        self._confirmed = True
        if probe_ids == self._first_ids:
            self.mode = "pages"
            self.start += 1
            self._page_index = 0
            del self.items[len(self._first_ids) :]
            self._ids = set(self._first_ids)
            return True
        if not set(probe_ids) & set(self._first_ids):
            self.mode = "pages"
            self._page_index = 1
        else:
            self.mode = "records"
        if self.mode == "pages":
            # Anything read after the first page came from reading offset as records: drop it
            # and read it again in the right reading, so the order stays the service's.
            del self.items[len(self._first_ids) :]
            self._ids = set(self._first_ids)
        return False

    def _finished(self, page: Page, *, new_count: int, repeats_first_page: bool) -> bool:
        if not page.items or self._pages >= self.max_pages:
            return True
        if self._total is not None and len(self.items) >= self._total:
            return True
        if self._total is None and len(page.items) < self.limit:
            return True
        return new_count == 0 and not repeats_first_page

    def _advance(self) -> None:
        if self.mode == "pages":
            self._page_index += 1
            self._offset = self.start + self._page_index
        else:
            self._offset = self.start + len(self.items)
