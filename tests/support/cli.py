"""The `bookshop` command run as a user runs it: a real process, its output captured."""

import os
import subprocess
import sys
from pathlib import Path

BOOKSHOP = str(Path(sys.executable).with_name("bookshop"))


def run(
    *args: str, env: dict[str, str], cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BOOKSHOP, *args], env={**os.environ, **env}, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=60
    )
