"""A real PgBouncer (Debian's, 1.18) in transaction mode in front of the suite's server, as
managed PostgreSQL and most deployments put one: each client transaction borrows one of a few
server sessions, and nothing of a session outlives the transaction.

It refuses the startup parameters it does not know and is not told to ignore any, so a pool that
still sends its timeouts at connect time fails as it would in production."""

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

from bookshop.db.admin import APP_ROLE, OWNER_ROLE
from tests.support.databases import ROLE_PASSWORD
from tests.support.programs import program
from tests.support.served import free_port
from tests.support.waiting import wait_until

# Server sessions per database and role: few, so concurrent clients really take turns on them.
POOL_SIZE = 2


class PgBouncer:
    """A running PgBouncer: its address, and the log it wrote so far."""

    def __init__(self, port: int, log: Path) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self.log = log

    def url(self, direct_url: str) -> str:
        """`direct_url` (user, password, database) reached through PgBouncer instead."""
        parts = urlsplit(direct_url)
        credentials = parts.netloc.rpartition("@")[0]
        return urlunsplit(parts._replace(netloc=f"{credentials}@{self.host}:{self.port}", query=""))

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def server_address(server_url: str) -> tuple[str, int]:
    """The host (or Unix socket folder, as the embedded server's ?host=) and port of a URL."""
    parts = urlsplit(server_url)
    query = parse_qs(parts.query)
    host = parts.hostname or query.get("host", ["localhost"])[0]
    port = parts.port or int(query.get("port", ["5432"])[0])
    return host, port


def configuration(*, server_url: str, port: int, userlist: Path, pool_size: int) -> str:
    host, server_port = server_address(server_url)
    return f"""\
[databases]
; every database name a client asks for, on the suite's server
* = host={host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {userlist}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
"""


def run_as(server_url: str) -> str:
    """PgBouncer refuses to run as root, so under root it runs as another user: the owner of the
    server's Unix socket folder (the embedded server's, which only its owner may enter), else
    nobody."""
    host, _ = server_address(server_url)
    if host.startswith("/") and (owner := Path(host).owner()) != "root":
        return owner
    return "nobody"


def start(server_url: str, folder: Path, *, pool_size: int) -> tuple[subprocess.Popen[bytes], PgBouncer]:
    """Writes PgBouncer's files into `folder` and starts it on a free loopback port."""
    folder.chmod(0o755)  # read by the unprivileged user PgBouncer runs as under root
    userlist = folder / "userlist.txt"
    userlist.write_text("".join(f'"{role}" "{ROLE_PASSWORD}"\n' for role in (APP_ROLE, OWNER_ROLE)))
    port = free_port()
    ini = folder / "pgbouncer.ini"
    ini.write_text(configuration(server_url=server_url, port=port, userlist=userlist, pool_size=pool_size))
    for written in (userlist, ini):
        written.chmod(0o644)
    log = folder / "pgbouncer.log"
    user = ["-u", run_as(server_url)] if os.geteuid() == 0 else []
    with log.open("wb") as output:
        process = subprocess.Popen([program("pgbouncer"), *user, str(ini)], stdout=output, stderr=subprocess.STDOUT)
    return process, PgBouncer(port, log)


@asynccontextmanager
async def running_pgbouncer(server_url: str, folder: Path, *, pool_size: int = POOL_SIZE) -> AsyncIterator[PgBouncer]:
    """PgBouncer in front of the server of `server_url`, once it listens; stopped on the way out."""
    process, bouncer = start(server_url, folder, pool_size=pool_size)
    try:

        async def listening() -> bool:
            assert process.poll() is None, f"pgbouncer exited:\n{bouncer.log_text()}"
            try:
                _, writer = await asyncio.open_connection(bouncer.host, bouncer.port)
            except OSError:
                return False
            writer.close()
            await writer.wait_closed()
            return True

        await wait_until(listening, f"pgbouncer listening on port {bouncer.port}")
        yield bouncer
    finally:
        process.terminate()
        process.wait(timeout=10)
