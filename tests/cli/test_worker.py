"""`bookshop worker`: JSON log lines, and a clean stop on SIGTERM."""

import json
import os
import signal
import subprocess
import threading
from typing import IO

from tests.support.cli import BOOKSHOP

READY_SECONDS = 60  # a loaded machine takes seconds to import the app and connect


class OutputLines:
    """A pipe read line by line on a thread, so a test can wait for a line with a deadline (a
    plain read blocks until the process writes or exits)."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self.closed = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float) -> bool:
        """Whether a line containing `text` came before the deadline (or the end of the output)."""
        with self._changed:
            self._changed.wait_for(lambda: self.closed or any(text in line for line in self.lines), timeout)
            return any(text in line for line in self.lines)

    def text(self, timeout: float = 20) -> str:
        """Everything written, once the process has closed the pipe."""
        self._reader.join(timeout)
        return "".join(self.lines)


def test_the_worker_logs_json_lines_and_stops_on_sigterm(cli_env: dict[str, str]) -> None:
    worker = subprocess.Popen(
        [BOOKSHOP, "worker", "--poll-interval", "0.2"],
        env={**os.environ, **cli_env, "LOG_FORMAT": "json"},
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stderr is not None
    stderr = OutputLines(worker.stderr)
    try:
        # It logs "… on queue default" once it listens, after installing its signal handlers:
        # a SIGTERM sent before them would kill it (exit -15) instead of stopping it.
        ready = stderr.wait_for("on queue default", timeout=READY_SECONDS)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)
    errors = stderr.text()
    assert ready, f"the worker logged no start within {READY_SECONDS} s: {errors}"
    assert worker.returncode == 0, errors
    lines = [json.loads(line) for line in errors.splitlines() if line.startswith("{")]
    messages = [(line["level"], line["logger"], line["message"]) for line in lines]
    assert any(level == "INFO" and "on queue default" in message for level, _, message in messages), errors
    assert any(message.endswith("stopped") for _, _, message in messages), errors
