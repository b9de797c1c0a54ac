"""The API docs page in a real browser, with no network but the service: Swagger UI's assets come
from the app (http/docs_page.py), so /schema lists the operations offline."""

import re
import subprocess
from pathlib import Path

import httpx

from bookshop.db.urls import DatabaseUrls
from tests.support.programs import program
from tests.support.served import serve

# Every host name fails to resolve except the loopback address the service listens on: a page
# that needs a CDN stays blank.
LOOPBACK_ONLY = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
# Virtual time Chromium lets the page's scripts run before it dumps the DOM; it ends early when
# the page goes idle.
SCRIPT_BUDGET_MS = 20_000


def rendered_dom(url: str, profile: Path) -> str:
    """The page's DOM after its scripts ran, from headless Chromium."""
    result = subprocess.run(
        [
            program("chromium"),
            "--headless",
            "--no-sandbox",  # the suite may run as root, where Chromium's sandbox refuses to start
            "--disable-gpu",
            f"--user-data-dir={profile}",
            f"--host-resolver-rules={LOOPBACK_ONLY}",
            f"--virtual-time-budget={SCRIPT_BUDGET_MS}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_docs_page_lists_the_operations_offline(database_urls: DatabaseUrls, tmp_path: Path) -> None:
    with serve(database_urls, tmp_path) as served:
        page = httpx.get(f"{served.base}/schema", timeout=10).text
        dom = rendered_dom(f"{served.base}/schema", tmp_path / "chromium")
    # What the page loads is all on the service itself.
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
    assert assets, page[:500]
    assert all(asset.startswith("/schema/assets/") for asset in assets), assets
    # Swagger UI ran: it replaced the empty container with one block per operation.
    operations = set(re.findall(r'class="opblock opblock-(\w+)[^"]*" id="operations-[^"]+"', dom))
    assert {"get", "post", "put", "delete"} <= operations, dom[:2000]
    paths = set(re.findall(r'data-path="([^"]+)"', dom))
    assert {"/books", "/books/{book}", "/users", "/ready"} <= paths, sorted(paths)
