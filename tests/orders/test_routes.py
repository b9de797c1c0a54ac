"""Orders as a client sees them: placing, idempotent retries, refusals, reading, cancelling."""

import uuid
from decimal import Decimal
from typing import Any

import asyncpg

from bookshop.db.pool import act_as
from bookshop.db.queries import queries
from tests.support.accounts import Account, AccountFactory
from tests.support.clients import Client, ClientFactory
from tests.support.orders import BookFactory, key_headers, order_body, stock_of
from tests.support.problems import assert_problem


async def test_an_order_takes_stock_captures_prices_and_queues_its_invoice(
    client: Client, customer: Account, staff: Account, make_book: BookFactory, conn: asyncpg.Connection
) -> None:
    dune = await make_book(stock=5, price="12.50", title="Dune")
    emma = await make_book(stock=1, price="7.25", title="Emma")
    response = await client.post("/orders", json=order_body((dune, 2), (emma, 1)), headers=key_headers(customer))
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "pending"
    assert order["user_id"] == str(customer.user_id)
    assert Decimal(order["total"]) == Decimal("32.25")
    assert [(line["line_no"], line["title"], line["quantity"], line["unit_price"]) for line in order["lines"]] == [
        (1, "Dune", 2, "12.50"),
        (2, "Emma", 1, "7.25"),
    ]
    assert (await stock_of(client, dune), await stock_of(client, emma)) == (3, 0)

    # A later price change leaves the order as it was bought.
    await client.patch(f"/books/{dune['id']}", json={"price": "99.00"}, headers=staff.headers)
    again = await client.get(f"/orders/{order['id']}", headers=customer.headers)
    assert again.json()["lines"][0]["unit_price"] == "12.50"

    job = await conn.fetchrow("SELECT kind, payload, status FROM jobs")
    assert (job["kind"], job["payload"], job["status"]) == ("issue_invoice", {"order_id": order["id"]}, "queued")
    event = await conn.fetchrow("SELECT actor, kind, subject FROM events WHERE kind = 'order_placed'")
    assert tuple(event) == (f"user:{customer.user_id}", "order_placed", f"order:{order['id']}")


async def test_the_same_key_and_body_replays_the_order_and_another_body_is_422(
    client: Client, customer: Account, make_account: AccountFactory, make_book: BookFactory, conn: asyncpg.Connection
) -> None:
    book = await make_book(stock=10)
    headers = key_headers(customer, "order-1")
    first = await client.post("/orders", json=order_body((book, 3)), headers=headers)
    replay = await client.post("/orders", json=order_body((book, 3)), headers=headers)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert await stock_of(client, book) == 7
    assert await conn.fetchval("SELECT count(*) FROM orders") == 1

    other = await client.post("/orders", json=order_body((book, 4)), headers=headers)
    assert assert_problem(other, 422, field="Idempotency-Key")["type"].endswith("idempotency-key-reused")
    assert await stock_of(client, book) == 7

    # Keys belong to their customer: another customer's same key is another order.
    stranger: Account = await make_account()
    theirs = await client.post("/orders", json=order_body((book, 1)), headers=key_headers(stranger, "order-1"))
    assert theirs.status_code == 201, theirs.text


async def test_a_short_line_is_409_naming_it_and_nothing_changes(
    client: Client, customer: Account, make_book: BookFactory, conn: asyncpg.Connection
) -> None:
    plenty = await make_book(stock=10)
    scarce = await make_book(stock=2)
    response = await client.post("/orders", json=order_body((plenty, 1), (scarce, 3)), headers=key_headers(customer))
    problem = assert_problem(response, 409, field="lines[1].quantity")
    assert scarce["id"] in problem["detail"]
    assert plenty["id"] not in problem["detail"]
    assert "2 left, 3 wanted" in problem["errors"][0]["message"]
    assert (await stock_of(client, plenty), await stock_of(client, scarce)) == (10, 2)
    assert await conn.fetchval("SELECT count(*) FROM orders") == 0
    assert await conn.fetchval("SELECT count(*) FROM jobs") == 0


async def test_unknown_deleted_or_unpublished_books_are_422(
    client: Client, customer: Account, staff: Account, make_book: BookFactory
) -> None:
    live = await make_book(stock=5)
    deleted = await make_book(stock=5)
    draft = await make_book(stock=5, is_published=False)
    await client.delete(f"/books/{deleted['id']}", headers=staff.headers)
    for book in (deleted, draft, {"id": str(uuid.uuid4())}):
        response = await client.post("/orders", json=order_body((live, 1), (book, 1)), headers=key_headers(customer))
        problem = assert_problem(response, 422, field="lines[1].book_id")
        assert problem["type"].endswith("books-unavailable")
    assert await stock_of(client, live) == 5


async def test_bad_orders_are_400_naming_the_field(client: Client, customer: Account, make_book: BookFactory) -> None:
    book = await make_book(stock=5)
    line = {"book_id": book["id"], "quantity": 1}
    cases: list[tuple[Any, str]] = [
        ({"lines": []}, "lines"),
        ({"lines": [{**line, "quantity": 0}]}, "lines"),
        ({"lines": [line, line]}, "lines"),
        ({"lines": [{**line, "book_id": "not-a-uuid"}]}, "lines"),
        ({"lines": [line], "coupon": "FREE"}, "coupon"),
    ]
    for body, field in cases:
        response = await client.post("/orders", json=body, headers=key_headers(customer))
        assert_problem(response, 400)
        assert any(field in error["field"] or field in error["message"] for error in response.json()["errors"]), (
            body,
            response.json(),
        )
    missing_key = await client.post("/orders", json={"lines": [line]}, headers=customer.headers)
    assert_problem(missing_key, 400, field="Idempotency-Key")
    anonymous = await client.post("/orders", json={"lines": [line]}, headers={"Idempotency-Key": "k"})
    assert anonymous.status_code == 401


async def test_order_detail_is_one_round_trip(
    make_client: ClientFactory, customer: Account, staff: Account, make_book: BookFactory
) -> None:
    async with make_client(pool_min_size=1, pool_max_size=1) as client:
        books = [await make_book(stock=3) for _ in range(3)]
        placed = await client.post(
            "/orders", json=order_body(*((book, 1) for book in books)), headers=key_headers(customer)
        )
        order_id = placed.json()["id"]
        statements: list[str] = []
        async with client.app.state.database.pool.acquire() as conn:  # the pool's only connection
            conn.add_query_logger(lambda logged: statements.append(logged.query))
        # The caller's key is checked first (on its own), then one statement reads the order for
        # the caller: no BEGIN, set_caller or COMMIT around it.
        response = await client.get(f"/orders/{order_id}", headers=customer.headers)
        assert response.status_code == 200
        assert statements == [queries.accounts.find_api_key.sql, queries.orders.get_order.sql], statements
        assert len(response.json()["lines"]) == 3


async def test_customers_see_their_own_orders_and_staff_see_all(
    client: Client, customer: Account, staff: Account, make_account: AccountFactory, make_book: BookFactory
) -> None:
    book = await make_book(stock=50)
    mine = [
        (await client.post("/orders", json=order_body((book, 1)), headers=key_headers(customer))).json()["id"]
        for _ in range(5)
    ]
    other: Account = await make_account()
    theirs = (await client.post("/orders", json=order_body((book, 1)), headers=key_headers(other))).json()["id"]

    assert (await client.get(f"/orders/{theirs}", headers=customer.headers)).status_code == 404
    assert (await client.post(f"/orders/{theirs}/cancel", headers=customer.headers)).status_code == 404
    assert (await client.get(f"/orders/{theirs}", headers=staff.headers)).status_code == 200

    seen: list[str] = []
    after = None
    while True:
        page = await client.get(
            "/me/orders", params={"limit": 2} | ({"after": after} if after else {}), headers=customer.headers
        )
        assert page.status_code == 200, page.text
        seen += [order["id"] for order in page.json()["items"]]
        after = page.json()["next"]
        if after is None:
            break
    assert seen == list(reversed(mine))
    tampered = await client.get("/me/orders", params={"after": after or "bm90LWEtY3Vyc29y"}, headers=customer.headers)
    assert_problem(tampered, 400, field="after")


async def test_row_level_security_hides_other_orders_when_the_query_forgets_the_owner(
    client: Client,
    customer: Account,
    make_account: AccountFactory,
    make_book: BookFactory,
    app_conn: asyncpg.Connection,
) -> None:
    book = await make_book(stock=5)
    other: Account = await make_account()
    theirs = (await client.post("/orders", json=order_body((book, 1)), headers=key_headers(other))).json()["id"]
    # user_id None is the staff form of the query: only the policy stands in the way.
    as_customer = {"caller_id": customer.user_id, "caller_role": "customer"}
    assert await queries.orders.get_order(app_conn, **as_customer, id=uuid.UUID(theirs), user_id=None) is None
    async with app_conn.transaction():
        await act_as(app_conn, user_id=customer.user_id, role="customer")
        assert await app_conn.fetchval("SELECT count(*) FROM order_lines") == 0
    as_other = {"caller_id": other.user_id, "caller_role": "customer"}
    assert await queries.orders.get_order(app_conn, **as_other, id=uuid.UUID(theirs), user_id=None) is not None


async def test_cancel_restocks_and_only_pending_or_paid_orders_cancel(
    client: Client, customer: Account, staff: Account, make_book: BookFactory, conn: asyncpg.Connection
) -> None:
    book = await make_book(stock=10)

    async def place(quantity: int) -> str:
        response = await client.post("/orders", json=order_body((book, quantity)), headers=key_headers(customer))
        assert response.status_code == 201, response.text
        order_id: str = response.json()["id"]
        return order_id

    pending = await place(3)
    cancelled = await client.post(f"/orders/{pending}/cancel", headers=customer.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert await stock_of(client, book) == 10
    again = await client.post(f"/orders/{pending}/cancel", headers=customer.headers)
    assert assert_problem(again, 409)["detail"].endswith("is cancelled: it cannot be cancelled.")
    assert await stock_of(client, book) == 10

    paid = await place(2)
    assert (await client.post(f"/orders/{paid}/pay", headers=customer.headers)).status_code == 403
    assert (await client.post(f"/orders/{paid}/ship", headers=staff.headers)).status_code == 409
    assert (await client.post(f"/orders/{paid}/pay", headers=staff.headers)).json()["status"] == "paid"
    assert (await client.post(f"/orders/{paid}/cancel", headers=staff.headers)).json()["status"] == "cancelled"
    assert await stock_of(client, book) == 10

    shipped = await place(4)
    await client.post(f"/orders/{shipped}/pay", headers=staff.headers)
    assert (await client.post(f"/orders/{shipped}/ship", headers=staff.headers)).json()["status"] == "shipped"
    assert_problem(await client.post(f"/orders/{shipped}/cancel", headers=customer.headers), 409)
    assert await stock_of(client, book) == 6
    assert (await client.post(f"/orders/{uuid.uuid4()}/cancel", headers=staff.headers)).status_code == 404
    kinds = [row["kind"] for row in await conn.fetch("SELECT kind FROM events ORDER BY id")]
    assert kinds.count("order_cancelled") == 2
    assert kinds.count("order_placed") == 3
