"""What handlers receive by dependency injection: the database and the caller.

Who may call a route is declared in its signature: `caller: CurrentCaller` (anyone signed in,
401 otherwise), `staff: Staff` (403 unless staff or admin), `admin: Admin` (403 unless admin).
A route anyone may call takes no caller, or `caller: OptionalCaller` with the optional provider.

Handlers open `async with db.read_connection()` (a public read, the replica's when one serves),
`db.connection()` or `db.transaction()` themselves rather than receive a connection from a
generator dependency: Litestar does not run a generator dependency's cleanup when a later
dependency fails (a 401 from `caller`, a bad page number), which would leave the connection
out of the pool.
"""

from typing import Any

from litestar import Request
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
