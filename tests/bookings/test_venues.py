"""Venues: staff write them, anyone reads them and finds the nearest."""

import math
import random
from typing import Any

import asyncpg
import pytest

from bookshop.bookings import seed
from bookshop.db.queries import queries
from tests.support.accounts import Account
from tests.support.bookings import VenueFactory
from tests.support.clients import Client
from tests.support.problems import assert_problem

BERLIN = (52.52, 13.405)
EARTH_RADIUS_KM = 6371.0088  # the mean radius; earthdistance's sphere is 6,378.168 km, 0.11% larger


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance computed here, independently of PostgreSQL's earthdistance."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def offset(latitude: float, longitude: float, *, north_km: float, east_km: float) -> tuple[float, float]:
    """A point about north_km and east_km from the given one (flat-earth step, fine for a few km)."""
    return (
        latitude + north_km / 111.195,
        longitude + east_km / (111.195 * math.cos(math.radians(latitude))),
    )


async def test_staff_add_and_change_venues_and_anyone_reads_them(
    client: Client, staff: Account, customer: Account
) -> None:
    body = {
        "name": "Tempelhof Hangar",
        "address": "Platz der Luftbrücke 5",
        "latitude": 52.4731,
        "longitude": 13.4039,
        "capacity": 3000,
        "hourly_price": "75.50",
        "max_booking_hours": 12,
    }
    assert (await client.post("/venues", json=body, headers=customer.headers)).status_code == 403
    assert (await client.post("/venues", json=body)).status_code == 401
    created = await client.post("/venues", json=body, headers=staff.headers)
    assert created.status_code == 201, created.text
    venue = created.json()
    assert {key: venue[key] for key in body} == body

    fetched = await client.get(f"/venues/{venue['id']}")  # no API key needed
    assert fetched.status_code == 200
    assert fetched.json() == venue

    change = {"capacity": 2500, "hourly_price": "80.00", "max_booking_hours": 48}
    changed = await client.patch(f"/venues/{venue['id']}", json=change, headers=staff.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json() | {"updated_at": None} == venue | change | {"updated_at": None}
    assert changed.json()["updated_at"] > venue["updated_at"]
    refused = await client.patch(f"/venues/{venue['id']}", json={"capacity": 1}, headers=customer.headers)
    assert refused.status_code == 403
    assert (await client.get(f"/venues/{venue['id']}")).json()["capacity"] == 2500

    missing = "01900000-0000-7000-8000-000000000000"
    assert_problem(await client.get(f"/venues/{missing}"), 404)
    assert_problem(await client.patch(f"/venues/{missing}", json={"capacity": 9}, headers=staff.headers), 404)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"latitude": 90.5}, "latitude"),
        ({"latitude": -91}, "latitude"),
        ({"longitude": 180.01}, "longitude"),
        ({"capacity": 0}, "capacity"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
        ({"hourly_price": "-0.01"}, "hourly_price"),
        ({"hourly_price": "10.001"}, "hourly_price"),
        ({"hourly_price": "1000000.01"}, "hourly_price"),
        ({"hourly_price": "NaN"}, "hourly_price"),
        ({"hourly_price": None}, "hourly_price"),
        ({"max_booking_hours": 0}, "max_booking_hours"),
        ({"max_booking_hours": 8785}, "max_booking_hours"),
    ],
)
async def test_out_of_range_venues_are_400_naming_the_field(
    client: Client, staff: Account, change: dict[str, Any], field: str
) -> None:
    body = {"name": "Hall", "address": "1 Road", "latitude": 0.0, "longitude": 0.0, "capacity": 10}
    body["hourly_price"] = "20.00"
    assert_problem(await client.post("/venues", json=body | change, headers=staff.headers), 400, field=field)
    venue = await client.post("/venues", json=body, headers=staff.headers)  # a change is held to the same bounds
    patched = await client.patch(f"/venues/{venue.json()['id']}", json=change, headers=staff.headers)
    if change != {"hourly_price": None}:  # null in a PATCH is refused too, by the type: no field to name
        assert_problem(patched, 400, field=field)


async def test_subnormal_coordinates_are_kept_to_nine_places_not_a_400(client: Client, staff: Account) -> None:
    """earthdistance's ll_to_earth fails on 5e-324 degrees ("value out of range: underflow"):
    a venue placed there would have broken the nearest-venue search for everyone."""
    body = {"name": "Null Island", "address": "0, 0", "latitude": 5e-324, "longitude": -1e-310, "capacity": 1}
    created = await client.post("/venues", json=body | {"hourly_price": "1.00"}, headers=staff.headers)
    assert created.status_code == 201, created.text
    assert (created.json()["latitude"], created.json()["longitude"]) == (0.0, 0.0)
    nearby = await client.get("/venues/nearby", params={"lat": 5e-324, "lon": 1e-320, "radius_km": 1})
    assert nearby.status_code == 200, nearby.text
    assert [venue["name"] for venue in nearby.json()] == ["Null Island"]


async def test_nearby_finds_venues_in_the_radius_nearest_first_with_their_distance(
    client: Client, make_venue: VenueFactory
) -> None:
    # Venues at known distances and bearings from the centre; 5.2 km and the other city are out.
    # Made in no particular order, so neither insertion nor id order is distance order.
    placed = {
        "4.8 km east": offset(*BERLIN, north_km=0, east_km=4.8),
        "Potsdam": (52.3906, 13.0645),
        "0.3 km north": offset(*BERLIN, north_km=0.3, east_km=0),
        "5.2 km south": offset(*BERLIN, north_km=-5.2, east_km=0),
        "2.8 km south-east": offset(*BERLIN, north_km=-2, east_km=2),
        "1.5 km west": offset(*BERLIN, north_km=0, east_km=-1.5),
    }
    for name, (latitude, longitude) in placed.items():
        await make_venue(name=name, latitude=latitude, longitude=longitude)

    response = await client.get("/venues/nearby", params={"lat": BERLIN[0], "lon": BERLIN[1], "radius_km": 5})
    assert response.status_code == 200, response.text
    found = response.json()
    assert [venue["name"] for venue in found] == ["0.3 km north", "1.5 km west", "2.8 km south-east", "4.8 km east"]
    for venue in found:
        expected = haversine_km(*BERLIN, venue["latitude"], venue["longitude"])
        assert venue["distance_km"] == pytest.approx(expected, rel=0.005)

    nearest_two = await client.get("/venues/nearby", params={"lat": BERLIN[0], "lon": BERLIN[1], "limit": 2})
    assert [venue["name"] for venue in nearest_two.json()] == ["0.3 km north", "1.5 km west"]  # radius 5 km by default
    wider = await client.get("/venues/nearby", params={"lat": BERLIN[0], "lon": BERLIN[1], "radius_km": 40})
    assert [venue["name"] for venue in wider.json()][-2:] == ["5.2 km south", "Potsdam"]


async def test_nearby_order_and_distances_agree_with_haversine_computed_in_python(
    client: Client, make_venue: VenueFactory
) -> None:
    rng = random.Random(5)  # noqa: S311 - test data, the same every run
    for n in range(40):
        latitude, longitude = offset(*BERLIN, north_km=rng.uniform(-12, 12), east_km=rng.uniform(-12, 12))
        await make_venue(name=f"random {n}", latitude=latitude, longitude=longitude)
    point = offset(*BERLIN, north_km=1.3, east_km=-0.7)

    response = await client.get(
        "/venues/nearby", params={"lat": point[0], "lon": point[1], "radius_km": 8, "limit": 100}
    )
    found = response.json()
    distances = {venue["name"]: haversine_km(*point, venue["latitude"], venue["longitude"]) for venue in found}
    assert [venue["name"] for venue in found] == sorted(distances, key=distances.__getitem__)
    for venue in found:
        assert venue["distance_km"] == pytest.approx(distances[venue["name"]], rel=0.005)
        assert venue["distance_km"] <= 8

    everything = (
        await client.get("/venues/nearby", params={"lat": point[0], "lon": point[1], "radius_km": 100, "limit": 100})
    ).json()
    outside = [v for v in everything if v["name"] not in distances]
    # Every venue left out lies beyond the radius by Python's reckoning too (0.5% for the spheres).
    assert all(haversine_km(*point, v["latitude"], v["longitude"]) > 8 * 0.995 for v in outside)
    assert len(found) + len(outside) == 40


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": 90.1, "lon": 0}, "lat"),
        ({"lat": -90.1, "lon": 0}, "lat"),
        ({"lat": 0, "lon": 180.5}, "lon"),
        ({"lat": 0, "lon": -181}, "lon"),
        ({"lat": 0, "lon": 0, "radius_km": 0}, "radius_km"),
        ({"lat": 0, "lon": 0, "radius_km": -3}, "radius_km"),
        ({"lat": 0, "lon": 0, "limit": 101}, "limit"),
        ({"lon": 0}, "lat"),
        ({"lat": "north", "lon": 0}, "lat"),
    ],
)
async def test_nearby_parameters_out_of_range_are_400_naming_them(
    client: Client, params: dict[str, Any], field: str
) -> None:
    assert_problem(await client.get("/venues/nearby", params=params), 400, field=field)


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in plan_nodes(child))]


@pytest.mark.parametrize("limit", [1, 20, 100])
async def test_nearby_walks_the_index_nearest_first_however_dense_the_area(
    conn: asyncpg.Connection, limit: int
) -> None:
    # 20,000 generated venues put about 1,000 in central London's search box, ten times what the
    # planner guesses for any box; a plan made for a known limit above that guess would read the
    # whole box and sort it. The served query must stay a k-nearest-neighbour index scan.
    await seed.generate(conn, venues=20_000, bookings_per_venue=0)
    london = (await seed.cities(conn))[0]
    # Parameters bound as the service binds them: planned for these values, as a connection's
    # first runs of the statement are.
    explained = await conn.fetchval(
        "EXPLAIN (FORMAT JSON) " + queries.bookings.nearby_venues.sql, london.latitude, london.longitude, 5000.0, limit
    )
    nodes = plan_nodes(explained[0]["Plan"])  # json, decoded by the codec
    scans = [node for node in nodes if node.get("Relation Name") == "venues"]
    assert [(node["Node Type"], node.get("Index Name")) for node in scans] == [("Index Scan", "venues_location_idx")]
    assert "Order By" in scans[0], scans[0]  # nearest first from the index
    assert not [node for node in nodes if node["Node Type"] == "Sort"]
