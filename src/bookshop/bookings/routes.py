"""HTTP routes of the bookings context: venues, nearby search, bookings and their states,
availability, a customer's bookings and revenue stats."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, JSONBody, QueryParameter

from bookshop.accounts.schemas import Caller
from bookshop.bookings import service
from bookshop.bookings.schemas import (
    Availability,
    Booking,
    BookingIn,
    BookingPage,
    BookingStats,
    BookingStatus,
    BookingWithVenue,
    MyBookingPage,
    NearbyVenue,
    Period,
    StatsGroup,
    Venue,
    VenueIn,
    VenueUpdate,
)
from bookshop.http.auth import ensure_admin, ensure_staff, rows_of
from bookshop.http.dependencies import CurrentCaller, Db
from bookshop.http.errors import FieldError, ProblemError
from bookshop.http.pagination import After, Limit, next_cursor, read_cursor
from bookshop.http.windows import check_window

# Windows a single request may cover: a venue's calendar for a quarter, a year of stats.
LONGEST_CALENDAR = timedelta(days=92)
LONGEST_STATS = timedelta(days=366)

WindowStart = Annotated[
    datetime, QueryParameter(name="from", description="Start of the window (inclusive), ISO 8601 with an offset.")
]
WindowEnd = Annotated[
    datetime, QueryParameter(name="to", description="End of the window (exclusive), ISO 8601 with an offset.")
]


def _venue_not_found(venue_id: UUID) -> NotFoundException:
    return NotFoundException(detail=f"No venue {venue_id}.")


def _booking_not_found(booking_id: UUID) -> NotFoundException:
    return NotFoundException(detail=f"No booking {booking_id}.")


def _keyset_position(key: list[str]) -> tuple[datetime, UUID]:
    """Where a page of bookings starts: after this (start, id)."""
    return datetime.fromisoformat(key[0]), UUID(key[1])


def _next_after(request: Request[Any, Any, Any], items: Sequence[Booking], limit: int) -> str | None:
    """The cursor after a full page of bookings, by (start, id); None after the last page."""
    last = items[-1] if len(items) == limit else None
    return next_cursor(request, [last.starts_at.isoformat(), str(last.id)] if last else None)


def _utc(moment: datetime) -> datetime:
    """Every time the service answers with is in UTC, whatever offset the request used."""
    return moment.astimezone(UTC)


def _period_text(period: Period) -> str:
    return f"[{_utc(period.starts_at):%Y-%m-%dT%H:%M:%SZ}, {_utc(period.ends_at):%Y-%m-%dT%H:%M:%SZ})"


class VenueController(Controller):
    path = "/venues"
    tags = ["bookings"]

    @post("/", summary="Add a venue (staff).")
    async def create_venue(self, db: Db, caller: CurrentCaller, data: JSONBody[VenueIn]) -> Venue:
        ensure_staff(caller)
        async with db.transaction() as conn:
            return await service.create_venue(conn, venue=data)

    @get(
        "/nearby",
        summary="Venues within radius_km of a point, nearest first, each with its distance in km.",
        description="Distances are great-circle distances on a sphere of radius 6,378 km (earthdistance).",
    )
    async def nearby_venues(
        self,
        db: Db,
        lat: Annotated[float, QueryParameter(ge=-90, le=90, description="Latitude in degrees, -90 to 90.")],
        lon: Annotated[float, QueryParameter(ge=-180, le=180, description="Longitude in degrees, -180 to 180.")],
        radius_km: Annotated[float, QueryParameter(gt=0, le=20_000, description="Search radius in km.")] = 5,
        limit: Limit = 20,
    ) -> list[NearbyVenue]:
        async with db.connection() as conn:
            return await service.nearby_venues(conn, latitude=lat, longitude=lon, radius_km=radius_km, limit=limit)

    @get("/{venue_id:uuid}", summary="A venue.")
    async def get_venue(self, db: Db, venue_id: FromPath[UUID]) -> Venue:
        async with db.connection() as conn:
            venue = await service.get_venue(conn, venue_id=venue_id)
        if venue is None:
            raise _venue_not_found(venue_id)
        return venue

    @patch("/{venue_id:uuid}", summary="Change a venue (staff); only the fields sent change.")
    async def update_venue(
        self, db: Db, caller: CurrentCaller, venue_id: FromPath[UUID], data: JSONBody[VenueUpdate]
    ) -> Venue:
        ensure_staff(caller)
        async with db.transaction() as conn:
            venue = await service.update_venue(conn, venue_id=venue_id, changes=data)
        if venue is None:
            raise _venue_not_found(venue_id)
        return venue

    @get(
        "/{venue_id:uuid}/availability",
        summary="When a venue is free between from and to (at most 92 days), computed from its live bookings.",
    )
    async def availability(
        self, db: Db, venue_id: FromPath[UUID], starts: WindowStart, ends: WindowEnd
    ) -> Availability:
        check_window(starts, ends, longest=LONGEST_CALENDAR)
        async with db.transaction() as conn:
            if not await service.venue_exists(conn, venue_id=venue_id):
                raise _venue_not_found(venue_id)
            free = await service.free_periods(conn, venue_id=venue_id, starts=starts, ends=ends)
        return Availability(venue_id=venue_id, starts_at=_utc(starts), ends_at=_utc(ends), free=free)

    @post(
        "/{venue_id:uuid}/bookings",
        summary="Book a venue for [starts_at, ends_at); 409 names the booked periods it overlaps.",
        description="Times need an offset and come back in UTC. A booking may start exactly when another ends.",
    )
    async def book_venue(
        self, db: Db, caller: CurrentCaller, venue_id: FromPath[UUID], data: JSONBody[BookingIn]
    ) -> Response[BookingWithVenue]:
        if data.starts_at < datetime.now(UTC):
            raise ValidationException(
                extra=[{"key": "starts_at", "message": "A booking cannot start in the past", "source": "body"}]
            )
        try:
            async with db.transaction(caller) as conn:
                booking_id = await service.book_venue(
                    conn,
                    venue_id=venue_id,
                    user_id=caller.user_id,
                    starts_at=data.starts_at,
                    ends_at=data.ends_at,
                    amount=data.amount,
                )
                if booking_id is None:
                    raise _venue_not_found(venue_id)
                booking = await service.get_booking(conn, booking_id=booking_id, owner=caller.user_id)
        except service.BookingConflict as conflict:
            taken = ", ".join(map(_period_text, conflict.booked)) or "a live booking"
            raise ProblemError(
                409,
                "booking-overlaps",
                detail=f"Venue {venue_id} is already booked for {taken}.",
                errors=[
                    FieldError(field="starts_at", message=f"Overlaps the booked period {_period_text(p)}")
                    for p in conflict.booked
                ],
            ) from None
        assert booking is not None  # made in this transaction, by this caller
        return Response(booking, status_code=201)

    @get("/{venue_id:uuid}/bookings", summary="A venue's bookings of every status overlapping from..to (staff).")
    async def list_venue_bookings(
        self,
        db: Db,
        caller: CurrentCaller,
        request: Request[Any, Any, Any],
        venue_id: FromPath[UUID],
        starts: WindowStart,
        ends: WindowEnd,
        limit: Limit = 50,
        after: After = None,
    ) -> BookingPage:
        ensure_staff(caller)
        check_window(starts, ends, longest=LONGEST_CALENDAR)
        position = read_cursor(request, after, size=2, parse=_keyset_position)
        async with db.transaction(caller) as conn:
            if not await service.venue_exists(conn, venue_id=venue_id):
                raise _venue_not_found(venue_id)
            items = await service.list_venue_bookings(
                conn, venue_id=venue_id, starts=starts, ends=ends, after=position, limit=limit
            )
        return BookingPage(items=items, next=_next_after(request, items, limit))


class BookingController(Controller):
    path = "/bookings"
    tags = ["bookings"]

    @get("/{booking_id:uuid}", summary="A booking with its venue (yours; staff: any).")
    async def get_booking(self, db: Db, caller: CurrentCaller, booking_id: FromPath[UUID]) -> BookingWithVenue:
        async with db.transaction(caller) as conn:
            booking = await service.get_booking(conn, booking_id=booking_id, owner=rows_of(caller))
        if booking is None:
            raise _booking_not_found(booking_id)
        return booking

    @post("/{booking_id:uuid}/confirm", status_code=200, summary="Confirm a pending booking (staff).")
    async def confirm_booking(self, db: Db, caller: CurrentCaller, booking_id: FromPath[UUID]) -> BookingWithVenue:
        ensure_staff(caller)
        return await self._move(db, caller, booking_id, to="confirmed")

    @post("/{booking_id:uuid}/complete", status_code=200, summary="Mark a confirmed booking completed (staff).")
    async def complete_booking(self, db: Db, caller: CurrentCaller, booking_id: FromPath[UUID]) -> BookingWithVenue:
        ensure_staff(caller)
        return await self._move(db, caller, booking_id, to="completed")

    @post(
        "/{booking_id:uuid}/cancel",
        status_code=200,
        summary="Cancel a pending or confirmed booking (yours; staff: any); its period is free at once.",
    )
    async def cancel_booking(self, db: Db, caller: CurrentCaller, booking_id: FromPath[UUID]) -> BookingWithVenue:
        return await self._move(db, caller, booking_id, to="cancelled")

    async def _move(self, db: Db, caller: Caller, booking_id: UUID, *, to: BookingStatus) -> BookingWithVenue:
        owner = rows_of(caller)
        async with db.transaction(caller) as conn:
            try:
                refused = await service.change_status(
                    conn, booking_id=booking_id, owner=owner, to=to, actor=f"user:{caller.user_id}"
                )
            except LookupError:
                raise _booking_not_found(booking_id) from None
            if refused is not None:
                allowed = " or ".join(service.ALLOWED_FROM[to])
                raise ProblemError(
                    409,
                    "booking-state-conflict",
                    detail=f"Booking {booking_id} is {refused}: only a {allowed} booking can become {to}.",
                )
            booking = await service.get_booking(conn, booking_id=booking_id, owner=owner)
        assert booking is not None  # changed in this transaction
        return booking


class MyBookingController(Controller):
    path = "/me/bookings"
    tags = ["bookings"]

    @get("/", summary="Your bookings with their venues, latest start first, by keyset.")
    async def list_my_bookings(
        self, db: Db, caller: CurrentCaller, request: Request[Any, Any, Any], limit: Limit = 20, after: After = None
    ) -> MyBookingPage:
        position = read_cursor(request, after, size=2, parse=_keyset_position)
        async with db.transaction(caller) as conn:
            items = await service.list_user_bookings(conn, user_id=caller.user_id, after=position, limit=limit)
        return MyBookingPage(items=items, next=_next_after(request, items, limit))


class AdminBookingController(Controller):
    path = "/admin/bookings"
    tags = ["admin"]

    @get(
        "/stats",
        summary="Bookings starting between from and to (at most 366 days), by UTC day or by venue (admin).",
        description="Each group counts its bookings by status; revenue sums the completed ones. `totals` covers "
        "the whole window.",
    )
    async def booking_stats(
        self,
        db: Db,
        caller: CurrentCaller,
        starts: WindowStart,
        ends: WindowEnd,
        group: Annotated[StatsGroup, QueryParameter(description="day (UTC) or venue.")] = "day",
    ) -> BookingStats:
        ensure_admin(caller)
        check_window(starts, ends, longest=LONGEST_STATS)
        async with db.transaction(caller) as conn:
            totals, rows = await service.booking_stats(conn, starts=starts, ends=ends, group=group)
        return BookingStats(starts_at=_utc(starts), ends_at=_utc(ends), group=group, totals=totals, rows=rows)
