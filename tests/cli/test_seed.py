"""`bookshop seed demo`: the demo accounts, once. (The generated data sets are tested beside their
contexts: tests/catalog, tests/bookings and tests/orders.)"""

from pathlib import Path

from tests.support.cli import run
from tests.support.clients import ClientFactory


async def test_seed_demo_writes_working_keys_and_runs_once(
    cli_env: dict[str, str], tmp_path: Path, make_client: ClientFactory
) -> None:
    seeded = run("seed", "demo", env=cli_env, cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    lines = [line.split() for line in (tmp_path / ".demo-keys.txt").read_text().splitlines()[1:]]
    assert [line[0] for line in lines] == ["admin", "staff", "customer"]
    assert oct((tmp_path / ".demo-keys.txt").stat().st_mode & 0o777) == "0o600"

    async with make_client() as client:
        listing = await client.get("/users", headers={"Authorization": f"Bearer {lines[0][2]}"})
        assert listing.status_code == 200
        assert listing.json()["total"] == 27

    again = run("seed", "demo", env=cli_env, cwd=tmp_path)
    assert again.returncode == 1
    assert "already has users" in again.stderr
