"""The single aiosql loader: every file under sql/ becomes a namespace by folder.

`queries.accounts.get_user(conn, id=...)` runs the statement named `get_user` in
sql/accounts/*.sql. aiosql builds these methods at load time, so they are typed as Any here;
the service functions that call them carry the types.
"""

from typing import Any

import aiosql

from bookshop.paths import SQL_DIR

queries: Any = aiosql.from_path(SQL_DIR, "asyncpg")
