"""Pagination: numbered pages with a total, and opaque signed cursors for keyset pages."""

import base64
import binascii
import hashlib
import hmac
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


class CursorError(ValueError):
    """A cursor that this service did not issue, or that was changed."""


_CURSOR_MAC_BYTES = 16


def encode_cursor(values: list[str], *, secret: str) -> str:
    """An opaque keyset cursor: the last row's sort key, signed so that it comes back unchanged."""
    payload = msgspec.json.encode(values)
    mac = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:_CURSOR_MAC_BYTES]
    return base64.urlsafe_b64encode(payload + mac).rstrip(b"=").decode()


def decode_cursor(token: str, *, secret: str, size: int) -> list[str]:
    """The sort key in a cursor; CursorError when it is malformed, tampered with or not `size` long."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise CursorError from None
    payload, mac = raw[:-_CURSOR_MAC_BYTES], raw[-_CURSOR_MAC_BYTES:]
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:_CURSOR_MAC_BYTES]
    if not payload or not hmac.compare_digest(mac, expected):
        raise CursorError
    try:
        values = msgspec.json.decode(payload, type=list[str])
    except msgspec.DecodeError:
        raise CursorError from None
    if len(values) != size:
        raise CursorError
    return values
