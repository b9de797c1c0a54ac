"""The JSON log lines the app writes to stderr, read as they arrive."""

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

WAIT_SECONDS = 10.0  # the writer thread can lag on a loaded 2-core machine; only a failure waits this long


class LogLines:
    """The JSON lines the app's log handler wrote to stderr. The handler writes them from a
    writer thread, in batches, so a test waits for the lines it expects rather than reading once."""

    def __init__(self, capfd: pytest.CaptureFixture[str]) -> None:
        self.capfd = capfd
        self.text = ""
        self.lines: list[dict[str, Any]] = []

    async def until(self, found: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        """Reads what was written until `found` holds of the lines, or for at most WAIT_SECONDS."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            err = self.capfd.readouterr().err
            self.text += err
            for line in err.splitlines():
                if line.startswith("{"):
                    self.lines.append(json.loads(line))
            if found(self.lines) or time.monotonic() > deadline:
                return self.lines
            await asyncio.sleep(0.02)

    def access(self, request_id: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["logger"] == "bookshop.access" and line["request_id"] == request_id]
