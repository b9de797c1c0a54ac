"""Pagination: numbered pages with a total, and opaque signed cursors for keyset pages."""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

T = TypeVar("T")

MAX_PER_PAGE = 100
# Keeps OFFSET well inside bigint, whatever page number a client sends.
MAX_PAGE = 1_000_000

# The query parameters of every keyset page.
Limit = Annotated[int, QueryParameter(ge=1, le=100, description="Items per page, at most 100.")]
After = Annotated[str | None, QueryParameter(description="The `next` cursor of the previous page.")]


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


def _cursor_secret(request: Request[Any, Any, Any]) -> str:
    # Cursors are signed so that a changed one is refused; the pepper is a server secret already.
    return f"{request.app.state.settings.api_key_pepper}:cursor"


def read_cursor(
    request: Request[Any, Any, Any], after: str | None, *, size: int, parse: Callable[[list[str]], T]
) -> T | None:
    """Where a keyset page starts: the sort key in `after`, parsed; 400 naming `after` for a
    cursor this service did not issue, or that was changed."""
    if after is None:
        return None
    try:
        return parse(decode_cursor(after, secret=_cursor_secret(request), size=size))
    except (CursorError, ValueError):
        raise ValidationException(
            detail="The cursor is not one this service issued.",
            extra=[{"key": "after", "message": "Malformed or altered cursor", "source": "query"}],
        ) from None


def next_cursor(request: Request[Any, Any, Any], last_key: list[str] | None) -> str | None:
    """The cursor after a full page's last row; None when the page was the last one."""
    return None if last_key is None else encode_cursor(last_key, secret=_cursor_secret(request))
