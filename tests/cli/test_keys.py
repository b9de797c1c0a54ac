"""`bookshop keys create`: a working key, printed once."""

from tests.support.cli import run
from tests.support.clients import ClientFactory


async def test_keys_create_prints_a_working_key_once(cli_env: dict[str, str], make_client: ClientFactory) -> None:
    created = run("keys", "create", "--email", "ops@example.com", "--role", "staff", env=cli_env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("bk_")
    assert "\n" not in key
    promoted = run("keys", "create", "--email", "OPS@example.com", "--role", "admin", env=cli_env)
    assert "from staff to admin" in promoted.stderr

    async with make_client() as client:
        for token, role in [(key, "admin"), (promoted.stdout.strip(), "admin")]:
            me = await client.get("/me", headers={"Authorization": f"Bearer {token}"})
            assert (me.status_code, me.json()["role"]) == (200, role)
