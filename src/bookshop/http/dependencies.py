"""What handlers receive by dependency injection: the database and the caller, resolved one
after another in the request's own task (resolve_dependencies_in_turn).

Who may call a route is declared in its signature: `caller: CurrentCaller` (anyone signed in,
401 otherwise), `staff: Staff` (403 unless staff or admin), `admin: Admin` (403 unless admin).
A route anyone may call takes no caller, or `caller: OptionalCaller` with the optional provider.

Handlers open `async with db.read_connection()` (a public read, the replica's when one serves),
`db.connection()` or `db.transaction()` themselves rather than receive a connection from a
generator dependency: Litestar does not run a generator dependency's cleanup when a later
dependency fails (a 401 from `caller`, a bad page number), which would leave the connection
out of the pool.
"""

from operator import attrgetter
from typing import Any

from litestar import Request
from litestar._kwargs.cleanup import DependencyCleanupGroup
from litestar._kwargs.dependencies import resolve_dependency
from litestar._kwargs.kwargs_model import KwargsModel
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency

from bookshop.accounts.schemas import Caller
from bookshop.db.pool import Database

# Handler parameters name their dependencies explicitly (`db: Db`), as Litestar 3 requires.
Db = NamedDependency[Database]
CurrentCaller = NamedDependency[Caller]
OptionalCaller = NamedDependency[Caller | None]
Staff = NamedDependency[Caller]  # the parameter is named `staff`
Admin = NamedDependency[Caller]  # the parameter is named `admin`


def provide_database(state: State, request: Request[Any, Any, Any]) -> Database:
    """The database; for a signed-in request, without the replica. That is the read-your-writes
    rule: every write needs a signed-in caller, and a signed-in caller reads from the primary, so
    what they read reflects what they wrote, however far the replica lags. Anonymous public
    reads may lag by up to REPLICA_MAX_LAG_SECONDS (docs/operations.md)."""
    database: Database = state.primary_database if "authorization" in request.headers else state.database
    return database


def resolve_dependencies_in_turn() -> None:
    """Makes Litestar resolve a route's dependencies one after another, in the request's own task.

    Litestar resolves dependencies that do not depend on each other concurrently, each in a task
    of its own (an anyio task group, `KwargsModel.resolve_dependencies`; litestar-org/litestar
    issue 4563). Here such a batch is `db` with `keyset` (and `numbered` on /books) on every
    listing, whose providers only read the request and the app's state: nothing to overlap, and
    the tasks cost about 60 to 90 µs of CPU per listing request, a tenth of it (bench/README.md).
    The one provider that waits, `caller`, needs `db` and so never shares a batch. In turn, a
    batch resolves in the order of its names, so when two fail, the error answered is always the
    same one. It replaces the method on Litestar's class, for every app in the process; create_app
    calls it, and calling it again changes nothing.
    """
    KwargsModel.resolve_dependencies = _resolve_in_turn  # type: ignore[method-assign,assignment]


async def _resolve_in_turn(
    model: KwargsModel, connection: ASGIConnection[Any, Any, Any, Any], kwargs: dict[str, Any]
) -> DependencyCleanupGroup:
    cleanup_group = DependencyCleanupGroup()
    for batch in model.dependency_batches:
        for dependency in sorted(batch, key=attrgetter("key")):
            await resolve_dependency(dependency, connection, kwargs, cleanup_group)
    return cleanup_group
