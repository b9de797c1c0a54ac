"""updated_at never moves back (migration 0020): a transaction that began before another's change
and commits after it stamps the row no earlier than that change."""

import asyncpg

from bookshop.db.pool import connect
from bookshop.db.urls import DatabaseUrls
from bookshop.settings import Settings
from tests.support.accounts import Account


async def test_a_later_commit_from_an_earlier_transaction_does_not_move_updated_at_back(
    conn: asyncpg.Connection, customer: Account, settings: Settings, database_urls: DatabaseUrls
) -> None:
    early = await connect(settings, dsn=database_urls.owner)
    try:
        async with early.transaction():
            began = await early.fetchval("SELECT now()")  # the early transaction's clock, fixed from here
            changed = await conn.fetchval(
                "UPDATE users SET name = 'Renamed' WHERE id = $1 RETURNING updated_at", customer.user_id
            )
            assert changed > began
            touched = await early.fetchval(
                "UPDATE users SET last_login_at = now() WHERE id = $1 RETURNING updated_at", customer.user_id
            )
        assert touched >= changed
    finally:
        await early.close()
