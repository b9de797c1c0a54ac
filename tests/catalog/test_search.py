"""Full-text search as a client sees it: stemming, websearch syntax, ranking, filters, paging."""

from datetime import timedelta
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.catalog import EPOCH, add_author, add_book
from tests.support.clients import Client, ClientFactory
from tests.support.problems import assert_problem


@pytest.fixture
async def shelf(client: Client, staff: Account) -> dict[str, Any]:
    """A small catalog with known words in known places."""
    le_guin = await add_author(client, staff, "Ursula K. Le Guin")
    herbert = await add_author(client, staff, "Frank Herbert")
    for slug in ["desert", "sea"]:
        await client.post("/tags", json={"slug": slug, "name": slug.title()}, headers=staff.headers)
    books = {
        "wizard": await add_book(
            client,
            staff,
            le_guin,
            "a-wizard-of-earthsea",
            title="A Wizard of Earthsea",
            description="A young mage runs from a shadow across the sea.",
            price="8.00",
        ),
        "dune": await add_book(
            client,
            staff,
            herbert,
            "dune",
            title="Dune",
            description="A desert planet, spice, and a boy running from an empire.",
            price="12.00",
        ),
        "runner": await add_book(
            client,
            staff,
            herbert,
            "the-runner",
            title="The Runner",
            subtitle="Running in the desert",
            description="Sand, wind and a long road.",
            price="20.00",
        ),
        "draft": await add_book(
            client, staff, herbert, "desert-draft", title="Desert Draft", is_published=False, published_at=None
        ),
        "gone": await add_book(client, staff, herbert, "gone-desert", title="Gone Desert"),
    }
    await client.delete(f"/books/{books['gone']['id']}", headers=staff.headers)
    await client.put(f"/books/{books['dune']['id']}/tags", json={"tags": ["desert"]}, headers=staff.headers)
    await client.put(f"/books/{books['wizard']['id']}/tags", json={"tags": ["sea"]}, headers=staff.headers)
    return {"authors": {"le_guin": le_guin, "herbert": herbert}, "books": books}


async def slugs(client: Client, **params: Any) -> list[str]:
    response = await client.get("/books/search", params=params)
    assert response.status_code == 200, response.text
    return [hit["slug"] for hit in response.json()["items"]]


async def test_stemming_finds_other_forms_of_a_word(client: Client, shelf: dict[str, Any]) -> None:
    assert set(await slugs(client, q="run")) == {"a-wizard-of-earthsea", "dune", "the-runner"}
    assert set(await slugs(client, q="running")) == {"a-wizard-of-earthsea", "dune", "the-runner"}


async def test_websearch_syntax(client: Client, shelf: dict[str, Any]) -> None:
    assert await slugs(client, q='"desert planet"') == ["dune"]
    assert set(await slugs(client, q="shadow or spice")) == {"a-wizard-of-earthsea", "dune"}
    assert await slugs(client, q="desert -spice") == ["the-runner"]


async def test_title_and_subtitle_hits_rank_above_description_hits(client: Client, shelf: dict[str, Any]) -> None:
    assert (await slugs(client, q="desert"))[0] == "the-runner"  # subtitle (B) above description (C)
    assert (await slugs(client, q="sea earthsea"))[0] == "a-wizard-of-earthsea"
    hits = (await client.get("/books/search", params={"q": "desert"})).json()["items"]
    assert hits[0]["rank"] >= hits[-1]["rank"]
    assert "<mark>desert</mark>" in hits[0]["snippet"].lower()


async def test_drafts_and_deleted_books_are_never_found(client: Client, shelf: dict[str, Any]) -> None:
    found = await slugs(client, q="desert")
    assert "desert-draft" not in found
    assert "gone-desert" not in found


async def test_filters_combine(client: Client, shelf: dict[str, Any]) -> None:
    herbert = shelf["authors"]["herbert"]
    assert await slugs(client, q="run", tag="sea") == ["a-wizard-of-earthsea"]
    assert set(await slugs(client, q="run", author=herbert)) == {"dune", "the-runner"}
    assert await slugs(client, q="run", author=herbert, max_price=15) == ["dune"]
    assert await slugs(client, q="run", min_price=10, max_price=15, tag="desert") == ["dune"]
    assert await slugs(client, q="run", min_price=100) == []


async def test_ranked_pages_hold_every_hit_once(client: Client, staff: Account) -> None:
    author = await add_author(client, staff, "Many Pages")
    for n in range(7):
        await add_book(client, staff, author, f"lighthouse-{n}", description="lighthouse " * (n + 1))
    seen: list[str] = []
    cursor = None
    while True:
        page = (
            await client.get(
                "/books/search", params={"q": "lighthouse", "limit": 3, **({"after": cursor} if cursor else {})}
            )
        ).json()
        seen += [hit["slug"] for hit in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert sorted(seen) == sorted(f"lighthouse-{n}" for n in range(7))
    assert len(seen) == 7


async def search_pages(client: Client, **params: Any) -> list[dict[str, Any]]:
    """Every page of a search, following `next`."""
    pages = [(await client.get("/books/search", params=params)).json()]
    while pages[-1]["next"]:
        pages.append((await client.get("/books/search", params={**params, "after": pages[-1]["next"]})).json())
    return pages


async def test_a_broad_query_ranks_only_its_newest_matches_and_says_so(
    make_client: ClientFactory, staff: Account
) -> None:
    async with make_client(search_rank_limit=4) as client:
        author = await add_author(client, staff, "Harbour Writer")
        other = await add_author(client, staff, "Someone Else")
        for day in range(8):
            title_hit = day in (1, 6)
            await add_book(
                client,
                staff,
                other if day == 5 else author,
                f"harbor-{day}",
                title=f"Harbor Day {day}" if title_hit else f"Quiet Day {day}",
                description="Boats in the harbor at dawn." if not title_hit else "Boats at dawn.",
                published_at=(EPOCH + timedelta(days=day)).isoformat(),
            )
        pages = await search_pages(client, q="harbor", limit=2)
        assert all(page["ranking_bounded"] for page in pages)
        ranked = [hit["slug"] for page in pages for hit in page["items"]]
        # The 4 newest matches (days 4 to 7), each once, the title hit first.
        assert ranked[0] == "harbor-6"
        assert sorted(ranked) == ["harbor-4", "harbor-5", "harbor-6", "harbor-7"]
        ranks = [hit["rank"] for page in pages for hit in page["items"]]
        assert ranks == sorted(ranks, reverse=True)
        # Filters apply before the bound: the author's 4 newest matches.
        mine = [hit["slug"] for page in await search_pages(client, q="harbor", author=author) for hit in page["items"]]
        assert sorted(mine) == ["harbor-3", "harbor-4", "harbor-6", "harbor-7"]
        # A query with fewer matches than the bound ranks them all.
        narrow = (await client.get("/books/search", params={"q": "harbor", "max_price": 1})).json()
        assert (narrow["items"], narrow["ranking_bounded"]) == ([], False)
    async with make_client() as client:
        page = (await client.get("/books/search", params={"q": "harbor"})).json()
        assert page["ranking_bounded"] is False
        assert [hit["slug"] for hit in page["items"][:2]] == ["harbor-6", "harbor-1"]  # both title hits lead
        assert len(page["items"]) == 8


async def test_a_misspelt_query_suggests_close_titles(client: Client, shelf: dict[str, Any]) -> None:
    page = (await client.get("/books/search", params={"q": "Earthsee"})).json()
    assert page["items"] == []
    assert {"slug": "a-wizard-of-earthsea", "title": "A Wizard of Earthsea"} in page["suggestions"]


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "'",
        "&&",
        "!",
        ":*",
        "(((",
        ")",
        "\\",
        "or or",
        "-",
        "- -",
        "the",
        "a & b | !c",
        "<->",
        "日本語",
        "a" * 200,
        "%",
        "_",
        "\x00x",
    ],
)
async def test_raw_input_never_raises_a_500(client: Client, shelf: dict[str, Any], q: str) -> None:
    response = await client.get("/books/search", params={"q": q})
    assert response.status_code in (200, 400), response.text


async def test_bad_search_parameters_are_400(client: Client, shelf: dict[str, Any]) -> None:
    assert_problem(await client.get("/books/search"), 400, field="q")
    assert_problem(await client.get("/books/search", params={"q": "x", "min_price": -1}), 400, field="min_price")
    assert_problem(await client.get("/books/search", params={"q": "x", "after": "forged"}), 400, field="after")
    assert_problem(await client.get("/books/search", params={"q": "x", "author": "nobody"}), 400, field="author")
