"""Programs from Debian's packages that some tests drive for real (PgBouncer, Redis, Chromium,
docker-compose).

A fresh machine has none of them: the first test that needs one installs its package with
apt-get, so the README's test command and `.ci/run` pass on a bare machine. Where apt-get is
not possible (no root), the test fails naming the package to install.
"""

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

# The program's name → the Debian package that ships it.
PACKAGES = {
    "pgbouncer": "pgbouncer",
    "redis-server": "redis-server",
    "chromium": "chromium",
    "docker-compose": "docker-compose",  # compose 1.29, for `config` where docker has no compose plugin
}
SEARCH_PATH = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"
LOCK = Path("/tmp/bookshop-apt.lock")
_updated = False


def program(name: str) -> str:
    """The path of `name`, installing its Debian package first when it is missing."""
    if found := shutil.which(name, path=SEARCH_PATH):
        return found
    package = PACKAGES[name]
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail(f"this test needs {name}: install Debian's {package} package (apt-get install {package})")
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs on one machine take turns with apt
        if not (found := shutil.which(name, path=SEARCH_PATH)):
            _install(package)
            found = shutil.which(name, path=SEARCH_PATH)
    if not found:
        pytest.fail(f"installed {package}, but {name} is still not on the PATH")
    return found


def _install(package: str) -> None:
    global _updated
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _updated:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
        _updated = True
    # The tests start their own instances on free ports; a service the package starts is unused.
    result = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.fail(f"apt-get install {package} failed:\n{result.stderr[-2000:]}")
