"""Lists answer `{"items": [...], "next_cursor": ...}`. A `Page` is one answer; iterating it walks every item of
every following page, fetching each page only when the previous one is used up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # any other member of the answer (e.g. `degraded`)
    fetch_next: Callable[[str], Page] | None = field(default=None, repr=False)

    @classmethod
    def from_body(cls, body: dict[str, Any], fetch_next: Callable[[str], Page] | None = None) -> Page:
        extra = {k: v for k, v in body.items() if k not in ("items", "next_cursor")}
        return cls(list(body.get("items") or []), body.get("next_cursor"), extra, fetch_next)

    @property
    def has_more(self) -> bool:
        return bool(self.next_cursor)

    def next_page(self) -> Page | None:
        if not self.next_cursor or self.fetch_next is None:
            return None
        return self.fetch_next(self.next_cursor)

    def pages(self) -> Iterator[Page]:
        page: Page | None = self
        while page is not None:
            yield page
            page = page.next_page()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for page in self.pages():
            yield from page.items

    def all(self, max_items: int | None = None) -> list[dict[str, Any]]:
        collected: list[dict[str, Any]] = []
        for item in self:
            if max_items is not None and len(collected) >= max_items:
                break
            collected.append(item)
        return collected
