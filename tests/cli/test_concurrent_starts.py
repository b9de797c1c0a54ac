"""Two `bookshop` commands at once: on one new embedded data folder, and seeding one empty database.

Real processes started together, each round on a fresh folder or database, so the race the
issue saw (initdb or postmaster.pid from two processes, two demo seeds) has its chance.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import asyncpg
import httpx

from bookshop.db.urls import DatabaseUrls
from tests.support.accounts import TEST_PEPPER
from tests.support.cli import BOOKSHOP, run
from tests.support.databases import cloned_database
from tests.support.served import READY_SECONDS, free_port

ROUNDS = 3


def run_together(*commands: list[str], env: dict[str, str], cwd: Path) -> list[subprocess.CompletedProcess[str]]:
    """Starts every command before waiting for any; returns what each did."""
    started = [
        subprocess.Popen(
            [BOOKSHOP, *command],
            env={**os.environ, **env},
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    finished = []
    for process, command in zip(started, commands, strict=True):
        stdout, stderr = process.communicate(timeout=120)
        finished.append(subprocess.CompletedProcess(command, process.returncode, stdout, stderr))
    return finished


def test_two_commands_on_a_new_embedded_folder_both_succeed(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        pgdata = tmp_path / f"pgdata-{round_}"
        env = {"EMBEDDED_PGDATA": str(pgdata), "DATABASE_URL": "", "MIGRATIONS_DATABASE_URL": ""}
        try:
            results = run_together(["migrate", "apply"], ["migrate", "apply"], env=env, cwd=tmp_path)
            for result in results:
                assert result.returncode == 0, f"round {round_}: {result.stderr}"
                assert "Traceback" not in result.stderr, result.stderr
            # One of them applied everything, the other found nothing left to do.
            outputs = sorted(result.stdout + result.stderr for result in results)
            assert sum("nothing to apply" in output for output in outputs) == 1, outputs
        finally:
            run("db", "stop", env=env, cwd=tmp_path)


async def test_two_demo_seeds_at_once_seed_one_data_set(
    tmp_path: Path, admin_conn: asyncpg.Connection, server_url: str, template_urls: DatabaseUrls
) -> None:
    for round_ in range(ROUNDS):
        async with cloned_database(admin_conn, server_url, "seedrace") as urls:
            env = {"DATABASE_URL": urls.app, "MIGRATIONS_DATABASE_URL": urls.owner, "API_KEY_PEPPER": TEST_PEPPER}
            folder = tmp_path / f"round-{round_}"
            folder.mkdir()
            results = run_together(["seed", "demo"], ["seed", "demo"], env=env, cwd=folder)
            for result in results:
                assert "Traceback" not in result.stderr, result.stderr
            assert sorted(result.returncode for result in results) == [0, 1], [r.stderr for r in results]
            loser = next(result for result in results if result.returncode == 1)
            assert "already has users" in loser.stderr
            conn = await asyncpg.connect(urls.owner)
            try:
                assert await conn.fetchval("SELECT count(*) FROM users") == 27
                assert await conn.fetchval("SELECT count(*) FROM api_keys") == 3
            finally:
                await conn.close()


def wait_ready(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    """Returns once GET /ready on the port answers 200; fails if the server exits first."""
    deadline = time.monotonic() + READY_SECONDS
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"not ready within {READY_SECONDS:g} s:\n{log.read_text()}"
        time.sleep(0.1)


def test_two_first_serves_at_once_share_one_server_and_one_demo_data_set(tmp_path: Path) -> None:
    """The issue's scene: two `bookshop serve` on a new folder (two terminals, two ports). Both
    serve; one seeded, the other found the data there."""
    pgdata = tmp_path / "pgdata"
    base_env = {**os.environ, "EMBEDDED_PGDATA": str(pgdata), "DATABASE_URL": "", "MIGRATIONS_DATABASE_URL": ""}
    ports = [free_port(), free_port()]
    logs = [tmp_path / f"serve-{port}.log" for port in ports]
    servers = []
    for port, log in zip(ports, logs, strict=True):
        with log.open("wb") as output:
            servers.append(
                subprocess.Popen(
                    [BOOKSHOP, "serve", "--port", str(port)],
                    env=base_env,
                    cwd=tmp_path,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    try:
        for port, server, log in zip(ports, servers, logs, strict=True):
            wait_ready(port, server, log)
        admin_key = (tmp_path / ".demo-keys.txt").read_text().splitlines()[1].split()[2]
        for port in ports:
            page = httpx.get(
                f"http://127.0.0.1:{port}/users?per_page=1", headers={"Authorization": f"Bearer {admin_key}"}, timeout=5
            )
            assert page.json()["total"] == 27 + 20  # one demo data set: its accounts and the catalog's reviewers
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        run("db", "stop", env={"EMBEDDED_PGDATA": str(pgdata)}, cwd=tmp_path)
    outputs = [log.read_text() for log in logs]
    assert not any("Traceback" in output for output in outputs), outputs
    assert sum("seeded the demo data set" in output for output in outputs) == 1, outputs
