"""Offset pagination: the page a UI asks for by number, with the total that matches."""

from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import QueryParameter

T = TypeVar("T")

MAX_PER_PAGE = 100
# Keeps OFFSET well inside bigint, whatever page number a client sends.
MAX_PAGE = 1_000_000


class PageParams(msgspec.Struct, frozen=True):
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int
    pages: int

    @classmethod
    def of(cls, items: list[T], *, params: PageParams, total: int) -> "Page[T]":
        pages = -(-total // params.per_page)
        return cls(items=items, page=params.page, per_page=params.per_page, total=total, pages=pages)


def provide_page_params(
    page: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Page number, from 1.")] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=MAX_PER_PAGE, description="Items per page, at most 100.")] = 20,
) -> PageParams:
    return PageParams(page=page, per_page=per_page)
