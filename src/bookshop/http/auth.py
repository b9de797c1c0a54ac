"""API keys in `Authorization: Bearer bk_…` → the caller, and the role checks routes declare
(the `staff` and `admin` dependencies, see http/dependencies.py).

A key is checked once per request, whatever the route: the rate limiter asks first (it counts a
request against the key only once the key has proved itself, http/rate_limit.py), then
`require_key_header`, the first step of every request (http/admission.py), refuses a bad key on
every route, public ones included (401, or 403 for a deactivated account), before anything else
is read, and the `caller` dependencies take the caller from the same check. Requests without an
Authorization header cost nothing here.
"""

from functools import cache
from typing import Any, cast
from uuid import UUID

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath

from bookshop.accounts import service
from bookshop.accounts.schemas import Caller
from bookshop.db.pool import Database
from bookshop.http.dependencies import CurrentCaller, Db

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="bookshop"'}
# Where a request's verdict on its key is kept (in its ASGI scope), so it is reached once.
_VERDICT = "bookshop.authentication"

Verdict = Caller | HTTPException | None  # the caller, the refusal of a bad key, or no key at all


def _unauthorized(detail: str) -> NotAuthorizedException:
    return NotAuthorizedException(detail=detail, headers=_CHALLENGE)


async def _verdict(connection: ASGIConnection[Any, Any, Any, Any]) -> Verdict:
    """The verdict on the request's key: looked up on the first call, remembered for the rest."""
    scope = cast(dict[str, Any], connection.scope)
    if _VERDICT in scope:
        remembered: Verdict = scope[_VERDICT]
        return remembered
    verdict: Verdict = None
    header = connection.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            verdict = _unauthorized("Use 'Authorization: Bearer <API key>'.")
        else:
            database: Database = connection.app.state.database
            try:
                async with database.connection() as conn:
                    caller = await service.authenticate(
                        conn,
                        token=token.strip(),
                        pepper=connection.app.state.settings.api_key_pepper,
                        key_use=connection.app.state.key_use,
                    )
            except service.InactiveAccount:
                verdict = PermissionDeniedException(detail="This account is deactivated.")
            else:
                verdict = caller if caller is not None else _unauthorized("The API key is not valid.")
    scope[_VERDICT] = verdict
    return verdict


async def authenticated_caller(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller | None:
    """The caller whose key the request carries, or None when it carries none or a bad one
    (refused later by require_key_header): for the rate limiter, which must not raise."""
    verdict = await _verdict(connection)
    return verdict if isinstance(verdict, Caller) else None


async def _caller_from(request: Request[Any, Any, Any]) -> Caller | None:
    verdict = await _verdict(request)
    if isinstance(verdict, HTTPException):
        raise verdict
    return verdict


async def provide_caller(request: Request[Any, Any, Any], db: Db) -> Caller:
    caller = await _caller_from(request)
    if caller is None:
        raise _unauthorized("An API key is required.")
    return caller


async def provide_optional_caller(request: Request[Any, Any, Any], db: Db) -> Caller | None:
    """For routes anyone may call but a signed-in caller may do more with."""
    return await _caller_from(request)


def require_staff(caller: CurrentCaller) -> Caller:
    """A signed-in caller with the staff or admin role (the `staff` dependency)."""
    if not caller.is_staff:
        raise PermissionDeniedException(detail="This needs the staff or admin role.")
    return caller


def require_admin(caller: CurrentCaller) -> Caller:
    """A signed-in caller with the admin role (the `admin` dependency)."""
    if caller.role != "admin":
        raise PermissionDeniedException(detail="This needs the admin role.")
    return caller


async def require_account_access(request: Request[Any, Any, Any], db: Db, user_id: FromPath[UUID]) -> Caller:
    """The caller on routes under /users/{user_id}, in place of `caller`: a customer may act on
    their own account only; staff and admins on any."""
    caller = await provide_caller(request, db)
    if caller.user_id != user_id and not caller.is_staff:
        raise PermissionDeniedException(detail="You may only access your own account.")
    return caller


def rows_of(caller: Caller) -> UUID | None:
    """Whose private rows a caller may reach, as the services' `owner` argument: their own,
    or anyone's (None) for staff."""
    return None if caller.is_staff else caller.user_id


SIGNED_IN = frozenset({"caller", "staff", "admin"})


@cache
def needs_signed_in_caller(handler: BaseRouteHandler) -> bool:
    """Whether a route takes a caller who must be signed in (not the optional caller); worked
    out once per route."""
    callers = SIGNED_IN & handler.parsed_fn_signature.parameters.keys()
    if callers == {"caller"}:
        return handler.resolve_dependencies()["caller"].dependency is not provide_optional_caller
    return bool(callers)


async def require_key_header(request: Request[Any, Any, Any]) -> None:
    """Before every route's handler: 401 before anything else is read when a route that needs a
    signed-in caller gets no Authorization header at all (Litestar decodes the body before it
    resolves dependencies, so without this a bad body would answer 400 to a caller who is not
    even signed in), and 401 (403 for a deactivated account) for a bad key on any route, public
    ones included: a made-up key is refused, never ignored."""
    if "authorization" not in request.headers:
        if needs_signed_in_caller(request.route_handler):
            raise _unauthorized("An API key is required.")
        return
    verdict = await _verdict(request)
    if isinstance(verdict, HTTPException):
        raise verdict
