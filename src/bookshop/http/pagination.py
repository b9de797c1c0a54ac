"""Pagination: numbered pages with a total, and keyset pages continued by signed cursors.

A keyset listing is described once, by a `Keyset`: its name, the sort key of a row, and that
key's type. The route declares `dependencies=LISTING.dependencies` and receives
`KeysetParams` (where the page starts, how long it is), which also makes the page and its `next`
cursor. A cursor carries the listing's name and the last row's key, signed, so a cursor that was
changed, or that another listing issued, is a 400 naming `after`.

In SQL every keyset listing has one form: the row comparison against the cursor's key, with the
key's far end when there is no cursor, so that the generic plan bounds the index scan with it:

    WHERE (published_at, id) < (coalesce(:after_published_at::timestamptz, 'infinity'),
                                coalesce(:after_id::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar import Request
from litestar.di import Provide
from litestar.params import QueryParameter

from bookshop.http.errors import field_error
from bookshop.http.text import END

T = TypeVar("T")
K = TypeVar("K")

MAX_PER_PAGE = 100
# Keeps OFFSET well inside bigint, whatever page number a client sends.
MAX_PAGE = 1_000_000

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PER_PAGE, description="Items per page, at most 100.")]
After = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=1000,
        pattern=rf"^[A-Za-z0-9_-]+{END}",
        description="The `next` cursor of the previous page.",
    ),
]
PageNumber = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Page number, from 1.")]
PerPage = Annotated[int, QueryParameter(ge=1, le=MAX_PER_PAGE, description="Items per page, at most 100.")]


class PageParams(msgspec.Struct, frozen=True):
    page: int
    per_page: int
    exact_total_limit: int  # the total is counted exactly up to this many rows (EXACT_TOTAL_LIMIT)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


class Page(msgspec.Struct, Generic[T]):
    """A numbered page with the total of the whole listing: exact (`total_exact`) up to the
    service's EXACT_TOTAL_LIMIT rows, an estimate above it ("page 3 of about 48,000"), since an
    exact count would read every row on every request. `pages` follows from `total`."""

    items: list[T]
    page: int
    per_page: int
    total: int
    total_exact: bool
    pages: int

    @classmethod
    def of(cls, items: list[T], *, params: PageParams, total: int, total_exact: bool) -> "Page[T]":
        pages = -(-total // params.per_page)
        return cls(
            items=items, page=params.page, per_page=params.per_page, total=total, total_exact=total_exact, pages=pages
        )


def _exact_total_limit(request: Request[Any, Any, Any]) -> int:
    limit: int = request.app.state.settings.exact_total_limit
    return limit


def provide_page_params(request: Request[Any, Any, Any], page: PageNumber = 1, per_page: PerPage = 20) -> PageParams:
    return PageParams(page=page, per_page=per_page, exact_total_limit=_exact_total_limit(request))


def provide_optional_page_params(
    request: Request[Any, Any, Any],
    page: Annotated[int | None, QueryParameter(ge=1, le=MAX_PAGE, description="Numbered page, from 1.")] = None,
    per_page: PerPage = 20,
) -> PageParams | None:
    """For a listing that is keyset by default and numbered when `page` is given."""
    if page is None:
        return None
    return PageParams(page=page, per_page=per_page, exact_total_limit=_exact_total_limit(request))


class KeysetPage(msgspec.Struct, Generic[T]):
    """A page of a listing; pass `next` as `after` for the following one (null at the end)."""

    items: list[T]
    next: str | None


class CursorError(ValueError):
    """A cursor that this service did not issue for this listing, or that was changed."""


_CURSOR_MAC_BYTES = 16


def _mac(payload: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:_CURSOR_MAC_BYTES]


def encode_cursor(listing: str, key: object, *, secret: str) -> str:
    """An opaque cursor: the listing's name and a row's sort key, signed."""
    payload = msgspec.json.encode([listing, key])
    return base64.urlsafe_b64encode(payload + _mac(payload, secret)).rstrip(b"=").decode()


def decode_cursor(token: str, *, listing: str, key_type: Any, secret: str) -> Any:
    """The sort key in a cursor of `listing`; CursorError when it is malformed, changed, or
    issued by another listing."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise CursorError from None
    payload, mac = raw[:-_CURSOR_MAC_BYTES], raw[-_CURSOR_MAC_BYTES:]
    if not payload or not hmac.compare_digest(mac, _mac(payload, secret)):
        raise CursorError
    try:
        issued_by, key = msgspec.json.decode(payload, type=tuple[str, key_type])
    except msgspec.DecodeError:
        raise CursorError from None
    if issued_by != listing:
        raise CursorError
    return key


def _cursor_secret(request: Request[Any, Any, Any]) -> str:
    # Cursors are signed so that a changed one is refused; the pepper is a server secret already.
    return f"{request.app.state.settings.api_key_pepper}:cursor"


class KeysetParams(Generic[K]):
    """What a keyset route receives: where its page starts (`after`, None for the first page),
    how many rows it holds, and how to make the page from the rows the query returned."""

    def __init__(self, keyset: "Keyset[K]", *, after: K | None, limit: int, secret: str) -> None:
        self.keyset = keyset
        self.after = after
        self.limit = limit
        self._secret = secret

    def next(self, items: list[Any]) -> str | None:
        """The cursor after a full page's last row; None when the page was the last one."""
        if len(items) < self.limit:
            return None
        return encode_cursor(self.keyset.listing, self.keyset.key(items[-1]), secret=self._secret)

    def page(self, items: list[T]) -> KeysetPage[T]:
        return KeysetPage(items=items, next=self.next(items))


class Keyset(Generic[K]):
    """One keyset listing: its name (cursors are bound to it), the sort key of a row, and the
    key's type (how a cursor's key decodes: a scalar, or a tuple such as `tuple[datetime, UUID]`)."""

    def __init__(self, listing: str, *, key: Callable[[Any], K], key_type: Any, default_limit: int = 20) -> None:
        self.listing = listing
        self.key = key
        self.key_type = key_type
        self.default_limit = default_limit

    def read(self, request: Request[Any, Any, Any], *, after: str | None, limit: int) -> KeysetParams[K]:
        secret = _cursor_secret(request)
        position: K | None = None
        if after is not None:
            try:
                position = decode_cursor(after, listing=self.listing, key_type=self.key_type, secret=secret)
            except CursorError:
                raise field_error("after", "Not a cursor this listing issued, or altered", source="query") from None
        return KeysetParams(self, after=position, limit=limit, secret=secret)

    @property
    def dependencies(self) -> dict[str, Provide]:
        """The route's `keyset` dependency, which reads `after` and `limit` (defaulting to this
        listing's)."""

        def provide_keyset(
            request: Request[Any, Any, Any], after: After = None, limit: Limit = self.default_limit
        ) -> Any:
            return self.read(request, after=after, limit=limit)

        return {"keyset": Provide(provide_keyset, sync_to_thread=False)}
