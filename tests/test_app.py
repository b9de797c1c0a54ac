"""The app's lifespan: what its start made is frozen out of the collector's sight while it serves."""

import gc

from tests.support.clients import ClientFactory


async def test_what_the_start_made_is_out_of_the_collectors_sight_until_shutdown(make_client: ClientFactory) -> None:
    async with make_client() as client:
        assert (await client.get("/health")).status_code == 200
        app, pool = client.app, client.app.state.database.pool
        tracked = gc.get_objects()
        assert not any(obj is app or obj is pool for obj in tracked)
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    assert any(obj is app for obj in gc.get_objects())
