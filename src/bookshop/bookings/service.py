"""The bookings context's operations over sql/bookings/: venues, bookings and the rules of their states."""

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from bookshop.bookings.schemas import (
    Booking,
    BookingCounts,
    BookingStatus,
    BookingWithVenue,
    NearbyVenue,
    Period,
    StatsGroup,
    StatsRow,
    Venue,
    VenueIn,
    VenueUpdate,
    coordinate,
)
from bookshop.db.params import update_params
from bookshop.db.pool import Actor, Connection
from bookshop.db.queries import queries
from bookshop.jobs import service as jobs
from bookshop.ops.service import record_event

q = queries.bookings

# The statuses a booking may move to, and from which.
ALLOWED_FROM: dict[BookingStatus, tuple[BookingStatus, ...]] = {
    "confirmed": ("pending",),
    "completed": ("confirmed",),
    "cancelled": ("pending", "confirmed"),
}


class BookingRefused(Exception):
    """Rules of the venue or the service refused the period: `faults` maps each field at fault
    (starts_at, ends_at) to what is wrong with it."""

    def __init__(self, faults: dict[str, str]) -> None:
        super().__init__(faults)
        self.faults = faults


class BookingConflict(Exception):
    """The period overlaps live bookings of the venue; `booked` is when it is taken, within
    the period asked for (empty if those bookings were cancelled since)."""

    def __init__(self, booked: list[Period]) -> None:
        super().__init__(booked)
        self.booked = booked


async def create_venue(conn: Connection, *, venue: VenueIn) -> Venue:
    row = await q.create_venue(conn, **msgspec.structs.asdict(venue))
    return Venue(**row)


async def get_venue(conn: Connection, *, venue_id: UUID) -> Venue | None:
    row = await q.get_venue(conn, id=venue_id)
    return None if row is None else Venue(**row)


async def update_venue(conn: Connection, *, venue_id: UUID, changes: VenueUpdate) -> Venue | None:
    row = await q.update_venue(conn, id=venue_id, **update_params(changes))
    return None if row is None else Venue(**row)


async def venue_exists(conn: Connection, *, venue_id: UUID) -> bool:
    found: bool = await q.venue_exists(conn, id=venue_id)
    return found


async def nearby_venues(
    conn: Connection, *, latitude: float, longitude: float, radius_km: float, limit: int
) -> list[NearbyVenue]:
    rows = q.nearby_venues(
        conn, latitude=coordinate(latitude), longitude=coordinate(longitude), radius_m=radius_km * 1000, limit=limit
    )
    return [NearbyVenue(**row) async for row in rows]


async def book_venue(
    conn: Connection,
    *,
    venue_id: UUID,
    user_id: UUID,
    starts_at: datetime,
    ends_at: datetime,
    horizon_days: int,
) -> UUID | None:
    """Books the venue for [starts_at, ends_at) in the caller's transaction, at the price the
    database computes from the venue, and logs the event; None when there is no such venue.
    Raises BookingRefused when the period is longer than the venue allows or starts more than
    `horizon_days` ahead, and BookingConflict when it overlaps a live booking: the statement
    itself and the exclusion constraint decide, so concurrent requests cannot both win."""
    try:
        async with conn.transaction():  # a savepoint: the caller's transaction survives a refusal
            outcome = await q.create_booking(
                conn,
                venue_id=venue_id,
                user_id=user_id,
                starts_at=starts_at,
                ends_at=ends_at,
                horizon_days=horizon_days,
            )
    except asyncpg.ExclusionViolationError:
        raise BookingConflict(await booked_periods(conn, venue_id=venue_id, starts=starts_at, ends=ends_at)) from None
    if outcome is None:
        return None
    faults = {}
    if outcome["beyond_horizon"]:
        faults["starts_at"] = f"A booking may start at most {horizon_days} days ahead"
    if outcome["too_long"]:
        faults["ends_at"] = f"A booking of this venue lasts at most {outcome['max_booking_hours']} hours"
    if faults:
        raise BookingRefused(faults)
    booking_id: UUID = outcome["booking_id"]
    await record_event(
        conn,
        actor=f"user:{user_id}",
        kind="booking_created",
        subject=f"booking:{booking_id}",
        payload={"venue_id": str(venue_id), "amount": str(outcome["amount"])},
    )
    return booking_id


async def get_booking(
    conn: Connection, *, caller: Actor, booking_id: UUID, owner: UUID | None
) -> BookingWithVenue | None:
    """A booking with its venue, read for `caller` in one statement (no transaction needed);
    None when it is not there or not `owner`'s (None: anyone's)."""
    row = await q.get_booking(conn, caller_id=caller.user_id, caller_role=caller.role, id=booking_id, user_id=owner)
    return None if row is None else msgspec.convert(dict(row), BookingWithVenue)


async def list_user_bookings(
    conn: Connection, *, caller: Actor, user_id: UUID, after: tuple[datetime, UUID] | None, limit: int
) -> list[BookingWithVenue]:
    """A page of the user's bookings, read for `caller` in one statement (no transaction needed)."""
    after_starts_at, after_id = after if after is not None else (None, None)
    rows = q.list_user_bookings(
        conn,
        caller_id=caller.user_id,
        caller_role=caller.role,
        user_id=user_id,
        after_starts_at=after_starts_at,
        after_id=after_id,
        limit=limit,
    )
    return [msgspec.convert(dict(row), BookingWithVenue) async for row in rows]


async def list_venue_bookings(
    conn: Connection,
    *,
    venue_id: UUID,
    starts: datetime,
    ends: datetime,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Booking]:
    after_starts_at, after_id = after if after is not None else (None, None)
    rows = q.list_venue_bookings(
        conn,
        venue_id=venue_id,
        starts=starts,
        ends=ends,
        after_starts_at=after_starts_at,
        after_id=after_id,
        limit=limit,
    )
    return [Booking(**row) async for row in rows]


async def change_status(
    conn: Connection, *, booking_id: UUID, owner: UUID | None, to: BookingStatus, actor: str
) -> BookingStatus | None:
    """Moves `owner`'s booking (None: anyone's) to `to` if ALLOWED_FROM permits it, and logs
    the event. Returns None when done, else the status that forbids it; LookupError when there
    is no such booking. Cancelling frees the period at once: the exclusion constraint ignores
    cancelled bookings. Confirming queues a complete_booking job due when the booking ends, in
    the same transaction."""
    changed = await q.set_booking_status(
        conn, id=booking_id, user_id=owner, from_statuses=list(ALLOWED_FROM[to]), to_status=to
    )
    if changed is None:
        found: BookingStatus | None = await q.get_booking_status(conn, id=booking_id, user_id=owner)
        if found is None:
            raise LookupError(booking_id)
        return found
    if to == "confirmed":
        await jobs.enqueue(
            conn, kind="complete_booking", payload={"booking_id": str(booking_id)}, run_at=changed["ends_at"]
        )
    await record_event(
        conn,
        actor=actor,
        kind=f"booking_{to}",
        subject=f"booking:{booking_id}",
        payload={"venue_id": str(changed["venue_id"])},
    )
    return None


async def complete_ended_booking(conn: Connection, *, booking_id: UUID) -> bool:
    """Completes the booking if it is still confirmed and has ended, and logs the event; False
    when there was nothing to do (cancelled, completed already, or not over yet)."""
    completed = await q.complete_ended_booking(conn, id=booking_id)
    if completed is None:
        return False
    await record_event(
        conn,
        actor="worker",
        kind="booking_completed",
        subject=f"booking:{booking_id}",
        payload={"venue_id": str(completed["venue_id"])},
    )
    return True


async def booked_periods(conn: Connection, *, venue_id: UUID, starts: datetime, ends: datetime) -> list[Period]:
    """When the venue is taken within [starts, ends), whoever booked it."""
    return [Period(**row) async for row in q.booked_periods(conn, venue_id=venue_id, starts=starts, ends=ends)]


async def free_periods(conn: Connection, *, venue_id: UUID, starts: datetime, ends: datetime) -> list[Period]:
    """When the venue is free within [starts, ends), in time order."""
    return [Period(**row) async for row in q.free_periods(conn, venue_id=venue_id, starts=starts, ends=ends)]


async def booking_stats(
    conn: Connection, *, starts: datetime, ends: datetime, group: StatsGroup
) -> tuple[BookingCounts, list[StatsRow]]:
    """Counts by status and completed revenue of the bookings that start in [starts, ends): their
    totals (the query's first row, from GROUPING SETS' (), there even when nothing matches) and
    one row per group."""
    query = q.booking_stats_by_day if group == "day" else q.booking_stats_by_venue
    totals, *groups = [StatsRow(**row) async for row in query(conn, starts=starts, ends=ends)]
    return totals, groups
