"""The catalog API as a client sees it: staff writes, public reads, keyset paging, reviews."""

import asyncio
import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tests.support.accounts import Account, AccountFactory
from tests.support.catalog import EPOCH, add_author, add_book
from tests.support.clients import Client, ClientFactory
from tests.support.problems import assert_problem

# Authors


async def test_authors_are_written_by_staff_and_read_by_anyone(
    client: Client, staff: Account, customer: Account
) -> None:
    assert_problem(await client.post("/authors", json={"name": "X"}), 401)
    assert_problem(await client.post("/authors", json={"name": "X"}, headers=customer.headers), 403)
    assert_problem(await client.post("/authors", json={"name": " "}, headers=staff.headers), 400, field="name")
    author_id = await add_author(client, staff)
    assert (await client.get(f"/authors/{author_id}")).json()["name"] == "Ursula K. Le Guin"
    renamed = await client.patch(f"/authors/{author_id}", json={"bio": "Wrote Earthsea."}, headers=staff.headers)
    assert renamed.json()["bio"] == "Wrote Earthsea."
    assert_problem(await client.get(f"/authors/{uuid.uuid4()}"), 404)


async def test_an_author_with_books_cannot_be_removed(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    await add_book(client, staff, author_id, "a-wizard-of-earthsea")
    body = assert_problem(await client.delete(f"/authors/{author_id}", headers=staff.headers), 409)
    assert body["type"] == "urn:bookshop:problem:foreign-key-violation"
    lonely = await add_author(client, staff, "Nobody Yet")
    assert (await client.delete(f"/authors/{lonely}", headers=staff.headers)).status_code == 204


async def test_author_search_finds_fragments_and_typos_best_first(client: Client, staff: Account) -> None:
    for name in ["J. R. R. Tolkien", "Christopher Tolkien", "Terry Pratchett", "Ann 50% Author"]:
        await add_author(client, staff, name)

    async def names(q: str) -> list[str]:
        response = await client.get("/authors", params={"q": q})
        assert response.status_code == 200, response.text
        return [match["name"] for match in response.json()]

    assert set(await names("olkie")) == {"J. R. R. Tolkien", "Christopher Tolkien"}  # ILIKE '%olkie%'
    assert set(await names("Tolkein")) == {"J. R. R. Tolkien", "Christopher Tolkien"}  # a typo
    assert (await names("Pratchet"))[0] == "Terry Pratchett"
    assert await names("50%") == ["Ann 50% Author"]  # wildcards in input match literally
    assert await names("zzzzqqq") == []


async def test_author_stats_count_live_published_books_and_include_authors_with_none(
    client: Client, staff: Account
) -> None:
    busy = await add_author(client, staff, "Busy")
    quiet = await add_author(client, staff, "Quiet")
    await add_author(client, staff, "Idle")
    for n in range(3):
        await add_book(client, staff, busy, f"busy-{n}")
    gone = await add_book(client, staff, busy, "busy-gone")
    await client.delete(f"/books/{gone['id']}", headers=staff.headers)
    await add_book(client, staff, busy, "busy-draft", is_published=False, published_at=None)
    await add_book(client, staff, quiet, "quiet-1")
    stats = (await client.get("/authors/stats")).json()
    assert [(row["name"], row["books"]) for row in stats] == [("Busy", 3), ("Quiet", 1), ("Idle", 0)]


# Books


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"slug": "Not A Slug"}, "slug"),
        ({"slug": "search"}, "slug"),
        ({"price": "-1"}, "price"),
        ({"price": "1.005"}, "price"),
        ({"isbn": "12345"}, "isbn"),
        ({"title": ""}, "title"),
        ({"stock": -1}, "stock"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_books_are_400_naming_the_field(
    client: Client, staff: Account, fields: dict[str, Any], field: str
) -> None:
    author_id = await add_author(client, staff)
    body = {
        "slug": "ok",
        "title": "Ok",
        "author_id": author_id,
        "price": "1",
        "is_published": True,
        "published_at": EPOCH.isoformat(),
        **fields,
    }
    assert_problem(await client.post("/books", json=body, headers=staff.headers), 400, field=field)


async def test_book_conflicts(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    await add_book(client, staff, author_id, "dune", isbn="9780441013593")
    assert (
        assert_problem(
            await client.post(
                "/books",
                json={"slug": "dune", "title": "D", "author_id": author_id, "price": "1"},
                headers=staff.headers,
            ),
            409,
        )["constraint"]
        == "books_slug_live_key"
    )
    assert (
        assert_problem(
            await client.post(
                "/books",
                json={"slug": "dune-2", "title": "D", "author_id": author_id, "price": "1", "isbn": "9780441013593"},
                headers=staff.headers,
            ),
            409,
        )["constraint"]
        == "books_isbn_key"
    )
    unknown_author = await client.post(
        "/books",
        json={"slug": "orphan", "title": "O", "author_id": str(uuid.uuid4()), "price": "1"},
        headers=staff.headers,
    )
    assert assert_problem(unknown_author, 409)["type"] == "urn:bookshop:problem:foreign-key-violation"


async def test_book_detail_by_id_or_slug_in_one_round_trip(
    make_client: ClientFactory, staff: Account, make_account: AccountFactory
) -> None:
    async with make_client(pool_min_size=1, pool_max_size=1) as client:
        author_id = await add_author(client, staff)
        book = await add_book(client, staff, author_id, "the-dispossessed", subtitle="An Ambiguous Utopia")
        await client.post("/tags", json={"slug": "sf", "name": "Science fiction"}, headers=staff.headers)
        await client.put(f"/books/{book['id']}/tags", json={"tags": ["sf"]}, headers=staff.headers)
        for rating in (4, 5):
            reader: Account = await make_account()
            await client.put(f"/books/{book['id']}/reviews/me", json={"rating": rating}, headers=reader.headers)

        statements: list[str] = []
        pool = client.app.state.database.pool
        async with pool.acquire() as conn:  # the pool's only connection: the request will use it
            conn.add_query_logger(lambda logged: statements.append(logged.query))
        by_slug = await client.get("/books/the-dispossessed")
        assert len(statements) == 1, statements
        by_id = await client.get(f"/books/{book['id']}")
        assert by_slug.json() == by_id.json()
        detail = by_id.json()
        assert detail["author"] == {"id": author_id, "name": "Ursula K. Le Guin"}
        assert detail["tags"] == [{"slug": "sf", "name": "Science fiction"}]
        assert detail["rating"] == {"count": 2, "average": 4.5}
        assert detail["price"] == "9.99"


async def test_drafts_are_for_staff_and_deleted_books_are_gone_everywhere(
    client: Client, staff: Account, customer: Account
) -> None:
    author_id = await add_author(client, staff)
    draft = await add_book(client, staff, author_id, "draft", is_published=False, published_at=None)
    assert_problem(await client.get("/books/draft"), 404)
    assert_problem(await client.get("/books/draft", headers=customer.headers), 404)
    assert_problem(await client.get(f"/books/{draft['id']}/reviews"), 404)
    assert (await client.get("/books/draft", headers=staff.headers)).status_code == 200

    book = await add_book(client, staff, author_id, "soon-gone")
    assert (await client.delete(f"/books/{book['id']}", headers=staff.headers)).status_code == 204
    assert_problem(await client.get("/books/soon-gone"), 404)
    assert_problem(await client.get("/books/soon-gone", headers=staff.headers), 404)
    assert_problem(await client.get(f"/books/{book['id']}/reviews"), 404)  # found by schemathesis: was 200
    assert (await client.get("/books")).json()["items"] == []
    assert (await client.get("/books?page=1")).json()["total"] == 0
    assert (await client.get(f"/authors/{author_id}/books")).json() == []
    assert_problem(
        await client.put(f"/books/{book['id']}/reviews/me", json={"rating": 3}, headers=customer.headers), 404
    )
    assert [d["id"] for d in (await client.get(f"/authors/{author_id}/books")).json()] == []
    assert draft["id"] not in (await client.get("/books")).text

    await add_book(client, staff, author_id, "soon-gone")  # the slug is free again
    assert_problem(await client.post(f"/books/{book['id']}/restore", headers=staff.headers), 409)


async def test_patch_and_restore(client: Client, staff: Account, customer: Account) -> None:
    author_id = await add_author(client, staff)
    book = await add_book(client, staff, author_id, "changing")
    changed = await client.patch(f"/books/{book['id']}", json={"price": "15", "stock": 3}, headers=staff.headers)
    assert (changed.json()["price"], changed.json()["stock"], changed.json()["title"]) == ("15.00", 3, "Changing")
    assert_problem(await client.patch(f"/books/{book['id']}", json={"price": "1"}, headers=customer.headers), 403)
    await client.delete(f"/books/{book['id']}", headers=staff.headers)
    restored = await client.post(f"/books/{book['id']}/restore", headers=staff.headers)
    assert restored.status_code == 200
    assert (await client.get("/books/changing")).status_code == 200


# Listings


async def test_keyset_pages_cover_every_book_once_newest_first(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    same_day = EPOCH + timedelta(days=1)
    for n in range(7):  # ties on published_at are broken by id
        await add_book(
            client,
            staff,
            author_id,
            f"book-{n}",
            published_at=(same_day if n < 4 else EPOCH + timedelta(days=n)).isoformat(),
        )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"after": cursor} if cursor else {})}
        page = (await client.get("/books", params=params)).json()
        seen += [item["slug"] for item in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(f"book-{n}" for n in range(7))
    assert len(seen) == 7
    assert seen[:3] == ["book-6", "book-5", "book-4"]


async def test_keyset_paging_is_stable_while_books_are_added(client: Client, staff: Account) -> None:
    """Paging and inserting run at the same time: every book that was there is seen exactly once."""
    author_id = await add_author(client, staff)
    for n in range(12):
        await add_book(client, staff, author_id, f"old-{n}", published_at=(EPOCH + timedelta(days=n)).isoformat())

    async def page_through() -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2, **({"after": cursor} if cursor else {})}
            page = (await client.get("/books", params=params)).json()
            seen += [item["slug"] for item in page["items"]]
            cursor = page["next"]
            if not cursor:
                return seen
            await asyncio.sleep(0)

    async def insert_newer() -> None:
        for n in range(10):
            # Newer than everything (they land ahead of the reader) and older than the oldest
            # (they land behind it): either way, never a repeat or a gap among the old ones.
            when = datetime.now(UTC) if n % 2 else EPOCH - timedelta(days=n + 1)
            await add_book(client, staff, author_id, f"new-{n}", published_at=when.isoformat())

    seen, _ = await asyncio.gather(page_through(), insert_newer())
    old = [slug for slug in seen if slug.startswith("old-")]
    assert old == [f"old-{n}" for n in reversed(range(12))]
    assert len(seen) == len(set(seen))


async def test_tampered_or_foreign_cursors_are_400(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    for n in range(3):
        await add_book(client, staff, author_id, f"c-{n}", published_at=(EPOCH + timedelta(days=n)).isoformat())
    cursor = (await client.get("/books", params={"limit": 1})).json()["next"]
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[5] ^= 1
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    forged = base64.urlsafe_b64encode(b'["2020-01-01T00:00:00+00:00","x"]' + bytes(16)).decode()
    for bad in [tampered, forged, "!!!", "a", cursor + "x"]:
        assert_problem(await client.get("/books", params={"after": bad}), 400, field="after")
    assert (await client.get("/books", params={"after": cursor})).status_code == 200


async def test_numbered_pages_have_a_total(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    for n in range(5):
        await add_book(client, staff, author_id, f"p-{n}", published_at=(EPOCH + timedelta(days=n)).isoformat())
    page = (await client.get("/books", params={"page": 2, "per_page": 2})).json()
    assert (page["total"], page["pages"], [i["slug"] for i in page["items"]]) == (5, 3, ["p-2", "p-1"])
    assert page["total_exact"] is True
    assert (await client.get("/books", params={"page": 9, "per_page": 2})).json()["items"] == []
    assert_problem(await client.get("/books", params={"page": 0}), 400, field="page")
    assert_problem(await client.get("/books", params={"limit": 101}), 400, field="limit")


async def test_numbered_totals_above_the_exact_limit_are_labelled_estimates(
    make_client: ClientFactory, staff: Account, conn: asyncpg.Connection
) -> None:
    async with make_client(exact_total_limit=3) as client:
        author_id = await add_author(client, staff)
        published = [
            await add_book(client, staff, author_id, f"e-{n}", published_at=(EPOCH + timedelta(days=n)).isoformat())
            for n in range(4)
        ]
        await add_book(client, staff, author_id, "e-draft", is_published=False)
        # Before statistics, the estimate is at least what was counted: more than the limit.
        first = (await client.get("/books", params={"page": 1, "per_page": 2})).json()
        assert (first["total_exact"], first["total"], first["pages"]) == (False, 4, 2)
        assert [i["slug"] for i in first["items"]] == ["e-3", "e-2"]
        for n in range(4, 9):
            published.append(
                await add_book(client, staff, author_id, f"e-{n}", published_at=(EPOCH + timedelta(days=n)).isoformat())
            )
        await conn.execute("ANALYZE books")  # what autovacuum does as a table grows
        estimated = (await client.get("/books", params={"page": 5, "per_page": 2})).json()
        assert (estimated["total_exact"], estimated["total"], estimated["pages"]) == (False, 9, 5)  # not the draft
        assert [i["slug"] for i in estimated["items"]] == ["e-0"]
        beyond = (await client.get("/books", params={"page": 9, "per_page": 2})).json()
        assert (beyond["items"], beyond["total"], beyond["total_exact"]) == ([], 9, False)
        # Above twice the limit nothing is counted: the estimate moves with the statistics.
        for book in published[2:8]:
            assert (await client.delete(f"/books/{book['id']}", headers=staff.headers)).status_code == 204
        stale = (await client.get("/books", params={"page": 1, "per_page": 2})).json()
        assert (stale["total"], stale["total_exact"]) == (9, False)
        assert [i["slug"] for i in stale["items"]] == ["e-8", "e-1"]
        await conn.execute("ANALYZE books")
        renewed = (await client.get("/books", params={"page": 1, "per_page": 2})).json()
        assert (renewed["total"], renewed["total_exact"]) == (3, True)  # counted again: 3 books, at the limit
    # With the default limit the same listing is counted.
    async with make_client() as client:
        exact = (await client.get("/books", params={"page": 1})).json()
        assert (exact["total"], exact["total_exact"]) == (3, True)


# Tags


async def test_replacing_tags_is_atomic_and_names_unknown_tags(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    book = await add_book(client, staff, author_id, "tagged")
    for slug in ["sf", "classic", "award"]:
        await client.post("/tags", json={"slug": slug, "name": slug.title()}, headers=staff.headers)
    url = f"/books/{book['id']}/tags"
    assert [
        t["slug"]
        for t in (await client.put(url, json={"tags": ["sf", "classic"]}, headers=staff.headers)).json()["tags"]
    ] == ["classic", "sf"]
    assert [
        t["slug"] for t in (await client.put(url, json={"tags": ["award", "sf"]}, headers=staff.headers)).json()["tags"]
    ] == ["award", "sf"]
    refused = await client.put(url, json={"tags": ["sf", "nope"]}, headers=staff.headers)
    assert "nope" in assert_problem(refused, 422, field="tags")["errors"][0]["message"]
    assert [t["slug"] for t in (await client.get("/books/tagged")).json()["tags"]] == ["award", "sf"]  # unchanged
    counts = {t["slug"]: t["books"] for t in (await client.get("/tags")).json()}
    assert counts == {"award": 1, "sf": 1, "classic": 0}
    assert_problem(await client.post("/tags", json={"slug": "sf", "name": "Again"}, headers=staff.headers), 409)


# Reviews


async def test_review_upsert_list_and_delete(client: Client, staff: Account, make_account: AccountFactory) -> None:
    author_id = await add_author(client, staff)
    book = await add_book(client, staff, author_id, "reviewed")
    url = f"/books/{book['id']}/reviews"
    readers: list[Account] = [await make_account() for _ in range(5)]
    assert (await client.get(url)).json() == {"items": [], "next": None}
    first = await client.put(f"{url}/me", json={"rating": 2, "body": "meh"}, headers=readers[0].headers)
    assert first.status_code == 201
    again = await client.put(f"{url}/me", json={"rating": 4, "body": "better"}, headers=readers[0].headers)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    for reader in readers[1:]:
        await client.put(f"{url}/me", json={"rating": 5}, headers=reader.headers)
    assert_problem(await client.put(f"{url}/me", json={"rating": 6}, headers=readers[0].headers), 400, field="rating")
    assert_problem(await client.put(f"{url}/me", json={"rating": 5}), 401)

    pages = [(await client.get(url, params={"limit": 2})).json()]
    while pages[-1]["next"]:
        pages.append((await client.get(url, params={"limit": 2, "after": pages[-1]["next"]})).json())
    listed = [review["user_id"] for page in pages for review in page["items"]]
    assert listed == [str(r.user_id) for r in reversed(readers[1:])] + [str(readers[0].user_id)]
    assert (await client.get("/books/reviewed")).json()["rating"] == {"count": 5, "average": 4.8}

    assert (await client.delete(f"{url}/me", headers=readers[0].headers)).status_code == 204
    assert_problem(await client.delete(f"{url}/me", headers=readers[0].headers), 404)
    assert (await client.get("/books/reviewed")).json()["rating"] == {"count": 4, "average": 5.0}


async def test_concurrent_first_reviews_by_one_user_leave_one_review(
    client: Client, staff: Account, customer: Account, conn: asyncpg.Connection
) -> None:
    author_id = await add_author(client, staff)
    book = await add_book(client, staff, author_id, "raced")
    responses = await asyncio.gather(
        *(
            client.put(f"/books/{book['id']}/reviews/me", json={"rating": n % 5 + 1}, headers=customer.headers)
            for n in range(10)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert await conn.fetchval("SELECT count(*) FROM reviews WHERE book_id = $1", uuid.UUID(book["id"])) == 1


async def test_publishing_a_draft_without_a_date_publishes_it_now(client: Client, staff: Account) -> None:
    """As on create: a PATCH to is_published true of a book with no published_at gives it one (it
    was a 422 whose detail showed the whole row)."""
    draft = await add_book(
        client, staff, await add_author(client, staff), "draft", is_published=False, published_at=None
    )
    published = await client.patch(f"/books/{draft['id']}", json={"is_published": True}, headers=staff.headers)
    assert published.status_code == 200, published.text
    assert published.json()["published_at"] is not None
    assert (await client.get("/books/draft")).status_code == 200
