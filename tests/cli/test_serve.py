"""`bookshop serve` from nothing: the embedded server, migrated and seeded, serving the API."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.cli import BOOKSHOP, run


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def get_json(url: str, key: str | None = None) -> Any:
    response = httpx.get(url, headers={"Authorization": f"Bearer {key}"} if key else {}, timeout=5)
    response.raise_for_status()
    return response.json()


def test_serve_from_nothing_starts_the_embedded_database_with_demo_data(tmp_path: Path) -> None:
    """The README's first command, on a machine with no database: it serves the seeded API."""
    port = free_port()
    env = {**os.environ, "EMBEDDED_PGDATA": str(tmp_path / "pgdata"), "PORT": str(port)}
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [BOOKSHOP, "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert get_json(f"http://127.0.0.1:{port}/ready") == {"status": "ready"}
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "the service did not become ready within 60 s"
                time.sleep(0.2)
        server_header = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).headers.get("server", "")
        assert not any(character.isdigit() for character in server_header), server_header  # no version
        admin_key = (tmp_path / ".demo-keys.txt").read_text().splitlines()[1].split()[2]
        page = get_json(f"http://127.0.0.1:{port}/users?per_page=5", admin_key)
        assert page["total"] == 27 + 20  # the demo accounts and the demo catalog's reviewers
        assert len(page["items"]) == 5
        books = get_json(f"http://127.0.0.1:{port}/books?limit=3")
        assert len(books["items"]) == 3
        assert books["next"]
        london = get_json(f"http://127.0.0.1:{port}/venues/nearby?lat=51.5074&lon=-0.1278&radius_km=25&limit=3")
        assert len(london) == 3  # the demo venues cluster around cities, London the biggest
        assert london[0]["distance_km"] <= london[2]["distance_km"] <= 25
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
        run("db", "stop", env={"EMBEDDED_PGDATA": str(tmp_path / "pgdata")}, cwd=tmp_path)
    assert f"http://127.0.0.1:{port}/schema" in output
    assert ".demo-keys.txt" in output
