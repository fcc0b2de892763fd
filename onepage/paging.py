"""Paging a list without counting it.

Fetching one row more than shown tells whether there is a next page. The
email folders grow to hundreds of thousands of rows; a COUNT(*) would cost
more than the page itself."""

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

# Deeper than anyone clicks; keeps a crafted ?page= from asking for an
# enormous OFFSET.
MAX_PAGE = 10_000


@dataclass
class Slice:
    """One page of a list: what Django's Page offers the templates, without
    the total."""

    object_list: list[Any]
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.object_list else 0

    @property
    def end_index(self) -> int:
        return self.start_index + len(self.object_list) - 1 if self.object_list else 0


def page_number(raw: str | None) -> int:
    """The ?page= of a link: anything unreadable is the first page."""
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


def slice_page(queryset: QuerySet, *, number: int, per_page: int) -> Slice:
    start = (number - 1) * per_page
    rows = list(queryset[start : start + per_page + 1])
    return Slice(object_list=rows[:per_page], number=number, per_page=per_page, has_next=len(rows) > per_page)
