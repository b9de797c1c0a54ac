"""API keys in `Authorization: Bearer bk_…` → the caller, and the role checks routes declare
(the `staff` and `admin` dependencies, see http/dependencies.py)."""

from typing import Any
from uuid import UUID

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath

from bookshop.accounts import service
from bookshop.accounts.schemas import Caller
from bookshop.http.dependencies import CurrentCaller, Db

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="bookshop"'}


def _unauthorized(detail: str) -> NotAuthorizedException:
    return NotAuthorizedException(detail=detail, headers=_CHALLENGE)


async def _caller_from(request: Request[Any, Any, Any], db: Db) -> Caller | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Use 'Authorization: Bearer <API key>'.")
    try:
        async with db.connection() as conn:
            caller = await service.authenticate(
                conn, token=token.strip(), pepper=request.app.state.settings.api_key_pepper
            )
    except service.InactiveAccount:
        raise PermissionDeniedException(detail="This account is deactivated.") from None
    if caller is None:
        raise _unauthorized("The API key is not valid.")
    return caller


async def provide_caller(request: Request[Any, Any, Any], db: Db) -> Caller:
    caller = await _caller_from(request, db)
    if caller is None:
        raise _unauthorized("An API key is required.")
    return caller


async def provide_optional_caller(request: Request[Any, Any, Any], db: Db) -> Caller | None:
    """For routes anyone may call but a signed-in caller may do more with."""
    return await _caller_from(request, db)


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


def needs_signed_in_caller(handler: BaseRouteHandler) -> bool:
    """Whether a route takes a caller who must be signed in (not the optional caller)."""
    callers = SIGNED_IN & handler.parsed_fn_signature.parameters.keys()
    if callers == {"caller"}:
        return handler.resolve_dependencies()["caller"].dependency is not provide_optional_caller
    return bool(callers)


def require_key_header(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """A guard: 401 before anything else is read when a route that needs a signed-in caller gets
    no Authorization header at all (Litestar decodes the body before it resolves dependencies,
    so without this a bad body would answer 400 to a caller who is not even signed in)."""
    if "authorization" not in connection.headers and needs_signed_in_caller(handler):
        raise _unauthorized("An API key is required.")
