"""Invoices: issued by the worker after an order, once, numbered; voided by staff."""

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from bookshop.db.pool import act_as
from bookshop.orders import handlers
from tests.support.accounts import Account, AccountFactory
from tests.support.clients import Client
from tests.support.orders import BookFactory, key_headers, order_body
from tests.support.problems import assert_problem


async def test_an_order_gets_its_invoice_from_the_worker(
    client: Client,
    customer: Account,
    make_account: AccountFactory,
    make_book: BookFactory,
    conn: asyncpg.Connection,
    drain_queue: Any,
) -> None:
    book = await make_book(stock=5, price="19.99")
    placed = (await client.post("/orders", json=order_body((book, 3)), headers=key_headers(customer))).json()
    assert (await client.get(f"/orders/{placed['id']}/invoice", headers=customer.headers)).status_code == 404

    await drain_queue(conn)
    response = await client.get(f"/orders/{placed['id']}/invoice", headers=customer.headers)
    assert response.status_code == 200, response.text
    invoice = response.json()
    assert Decimal(invoice["amount"]) == Decimal("59.97") == Decimal(placed["total"])
    assert re.fullmatch(rf"INV-{datetime.now(UTC).year}-\d{{6}}", invoice["number"]), invoice["number"]
    assert invoice["voided_at"] is None
    assert (await client.get(f"/invoices/{invoice['id']}", headers=customer.headers)).json() == invoice
    stranger: Account = await make_account()
    assert (await client.get(f"/invoices/{invoice['id']}", headers=stranger.headers)).status_code == 404
    assert (await client.get(f"/orders/{placed['id']}/invoice", headers=stranger.headers)).status_code == 404
    assert await conn.fetchval("SELECT status FROM jobs") == "done"
    assert await conn.fetchval("SELECT count(*) FROM events WHERE kind = 'invoice_issued'") == 1

    second = (await client.post("/orders", json=order_body((book, 1)), headers=key_headers(customer))).json()
    await drain_queue(conn)
    numbers = [row["number"] for row in await conn.fetch("SELECT number FROM invoices ORDER BY issued_at")]
    assert len(numbers) == 2
    assert int(numbers[1][-6:]) == int(numbers[0][-6:]) + 1, numbers
    assert await conn.fetchval("SELECT amount FROM invoices WHERE order_id = $1", uuid.UUID(second["id"])) == Decimal(
        "19.99"
    )


async def test_issuing_twice_yields_one_invoice(
    client: Client, customer: Account, make_book: BookFactory, app_conn: asyncpg.Connection
) -> None:
    book = await make_book(stock=5)
    placed = (await client.post("/orders", json=order_body((book, 1)), headers=key_headers(customer))).json()
    for _ in range(2):
        async with app_conn.transaction():
            await act_as(app_conn, user_id=None, role="staff")
            await handlers.issue_invoice(app_conn, {"order_id": placed["id"]})
    async with app_conn.transaction():
        await act_as(app_conn, user_id=None, role="staff")
        assert await app_conn.fetchval("SELECT count(*) FROM invoices") == 1
        assert await app_conn.fetchval("SELECT count(*) FROM events WHERE kind = 'invoice_issued'") == 1


async def test_staff_void_invoices_which_then_hide_unless_staff_ask(
    client: Client,
    customer: Account,
    staff: Account,
    make_book: BookFactory,
    conn: asyncpg.Connection,
    drain_queue: Any,
) -> None:
    book = await make_book(stock=5)
    placed = (await client.post("/orders", json=order_body((book, 1)), headers=key_headers(customer))).json()
    await drain_queue(conn)
    invoice = (await client.get(f"/orders/{placed['id']}/invoice", headers=customer.headers)).json()
    listed = (await client.get("/invoices", headers=staff.headers)).json()
    assert [item["id"] for item in listed["items"]] == [invoice["id"]]

    assert (await client.delete(f"/invoices/{invoice['id']}", headers=customer.headers)).status_code == 403
    assert (await client.delete(f"/invoices/{invoice['id']}", headers=staff.headers)).status_code == 204
    assert (await client.delete(f"/invoices/{invoice['id']}", headers=staff.headers)).status_code == 404
    assert (await client.get(f"/invoices/{invoice['id']}", headers=customer.headers)).status_code == 404
    assert (await client.get(f"/invoices/{invoice['id']}", headers=staff.headers)).status_code == 404
    assert (await client.get("/invoices", headers=staff.headers)).json()["items"] == []
    shown = await client.get(f"/invoices/{invoice['id']}", params={"include_voided": "true"}, headers=staff.headers)
    assert shown.status_code == 200
    assert shown.json()["voided_at"] is not None
    asked = await client.get(f"/invoices/{invoice['id']}", params={"include_voided": "true"}, headers=customer.headers)
    assert_problem(asked, 403)
    # Voided, not deleted: the row and its number stay.
    assert await conn.fetchval("SELECT number FROM invoices") == invoice["number"]


async def test_cancelling_an_invoiced_order_voids_its_invoice_and_a_cancelled_order_gets_none(
    client: Client, customer: Account, make_book: BookFactory, conn: asyncpg.Connection, drain_queue: Any
) -> None:
    book = await make_book(stock=5)
    invoiced = (await client.post("/orders", json=order_body((book, 1)), headers=key_headers(customer))).json()
    await drain_queue(conn)
    await client.post(f"/orders/{invoiced['id']}/cancel", headers=customer.headers)
    assert (await client.get(f"/orders/{invoiced['id']}/invoice", headers=customer.headers)).status_code == 404

    cancelled_first = (await client.post("/orders", json=order_body((book, 1)), headers=key_headers(customer))).json()
    await client.post(f"/orders/{cancelled_first['id']}/cancel", headers=customer.headers)
    await drain_queue(conn)
    assert await conn.fetchval("SELECT count(*) FROM invoices") == 1
    assert await conn.fetchval("SELECT count(*) FROM invoices WHERE deleted_at IS NULL") == 0
