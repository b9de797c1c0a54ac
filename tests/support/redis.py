"""A Redis of a test's own (Debian's redis-server, through programs.py) on a free loopback port,
with nothing saved to disk."""

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.programs import program
from tests.support.served import free_port
from tests.support.waiting import DEADLINE


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """Starts redis-server and yields its URL once it answers PING; stops it afterwards."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    command = [program("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with (folder / "redis.log").open("wb") as log:
        server = subprocess.Popen([*command, "--dir", str(folder)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + DEADLINE
        while not answers(port):
            assert server.poll() is None, (folder / "redis.log").read_text()
            assert time.monotonic() < deadline, f"redis-server did not answer within {DEADLINE:g} s"
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=30)
