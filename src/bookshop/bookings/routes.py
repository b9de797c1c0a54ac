"""HTTP routes of the bookings context: venues, nearby search, bookings and their states,
availability, a customer's bookings and revenue stats."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, QueryParameter

from bookshop.accounts.schemas import Caller
from bookshop.bookings import service
from bookshop.bookings.schemas import (
    Availability,
    Booking,
    BookingIn,
    BookingStats,
    BookingStatus,
    BookingWithVenue,
    NearbyVenue,
    Period,
    StatsGroup,
    Venue,
    VenueIn,
    VenueUpdate,
)
from bookshop.http.auth import rows_of
from bookshop.http.dependencies import Admin, CurrentCaller, Db, Staff
from bookshop.http.errors import FieldError, ProblemError, field_error, found
from bookshop.http.pagination import Keyset, KeysetPage, KeysetParams, Limit
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

# Both booking listings go by (start, id): a venue's earliest first, a customer's latest first.
VENUE_BOOKINGS = Keyset(
    "venue-bookings",
    key=lambda booking: (booking.starts_at, booking.id),
    key_type=tuple[datetime, UUID],
    default_limit=50,
)
MY_BOOKINGS = Keyset("my-bookings", key=lambda booking: (booking.starts_at, booking.id), key_type=tuple[datetime, UUID])


def _utc(moment: datetime) -> datetime:
    """Every time the service answers with is in UTC, whatever offset the request used."""
    return moment.astimezone(UTC)


def _period_text(period: Period) -> str:
    return f"[{_utc(period.starts_at):%Y-%m-%dT%H:%M:%SZ}, {_utc(period.ends_at):%Y-%m-%dT%H:%M:%SZ})"


class VenueController(Controller):
    path = "/venues"
    tags = ["bookings"]

    @post("/", summary="Add a venue (staff).")
    async def create_venue(self, db: Db, staff: Staff, data: JSONBody[VenueIn]) -> Venue:
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
        radius_km: Annotated[
            float, QueryParameter(ge=0.001, le=20_000, description="Search radius in km, 1 m or more.")
        ] = 5,
        limit: Limit = 20,
    ) -> list[NearbyVenue]:
        async with db.read_connection() as conn:
            return await service.nearby_venues(conn, latitude=lat, longitude=lon, radius_km=radius_km, limit=limit)

    @get("/{venue_id:uuid}", summary="A venue.")
    async def get_venue(self, db: Db, venue_id: FromPath[UUID]) -> Venue:
        async with db.read_connection() as conn:
            return found(await service.get_venue(conn, venue_id=venue_id), f"No venue {venue_id}.")

    @patch("/{venue_id:uuid}", summary="Change a venue (staff); only the fields sent change.")
    async def update_venue(self, db: Db, staff: Staff, venue_id: FromPath[UUID], data: JSONBody[VenueUpdate]) -> Venue:
        async with db.transaction() as conn:
            venue = await service.update_venue(conn, venue_id=venue_id, changes=data)
        return found(venue, f"No venue {venue_id}.")

    @get(
        "/{venue_id:uuid}/availability",
        summary="When a venue is free between from and to (at most 92 days), computed from its live bookings.",
    )
    async def availability(
        self, db: Db, venue_id: FromPath[UUID], starts: WindowStart, ends: WindowEnd
    ) -> Availability:
        check_window(starts, ends, longest=LONGEST_CALENDAR)
        async with db.read_connection() as conn, conn.transaction():
            found(await service.venue_exists(conn, venue_id=venue_id), f"No venue {venue_id}.")
            free = await service.free_periods(conn, venue_id=venue_id, starts=starts, ends=ends)
        return Availability(venue_id=venue_id, starts_at=_utc(starts), ends_at=_utc(ends), free=free)

    @post(
        "/{venue_id:uuid}/bookings",
        summary="Book a venue for [starts_at, ends_at); 409 names the booked periods it overlaps.",
        description="Times need an offset and come back in UTC. A booking may start exactly when another ends. "
        "The venue sets the price: the amount is its hourly_price times the hours booked, part hours pro rata, "
        "rounded to the cent. Longer than the venue's max_booking_hours (ends_at), or starting more than "
        "BOOKING_HORIZON_DAYS ahead (starts_at): 422.",
    )
    async def book_venue(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        venue_id: FromPath[UUID],
        data: JSONBody[BookingIn],
    ) -> Response[BookingWithVenue]:
        if data.starts_at < datetime.now(UTC):
            raise field_error("starts_at", "A booking cannot start in the past", source="body")
        try:
            async with db.transaction(caller) as conn:
                booked = await service.book_venue(
                    conn,
                    venue_id=venue_id,
                    user_id=caller.user_id,
                    starts_at=data.starts_at,
                    ends_at=data.ends_at,
                    horizon_days=request.app.state.settings.booking_horizon_days,
                )
                booking_id = found(booked, f"No venue {venue_id}.")
                booking = await service.get_booking(conn, caller=caller, booking_id=booking_id, owner=caller.user_id)
        except service.BookingRefused as refused:
            raise ProblemError(
                422,
                "booking-refused",
                detail="; ".join(refused.faults.values()) + ".",
                errors=[FieldError(field=f, message=m, source="body") for f, m in refused.faults.items()],
            ) from None
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

    @get(
        "/{venue_id:uuid}/bookings",
        dependencies=VENUE_BOOKINGS.dependencies,
        summary="A venue's bookings of every status overlapping from..to (staff).",
    )
    async def list_venue_bookings(
        self,
        db: Db,
        staff: Staff,
        keyset: NamedDependency[KeysetParams[tuple[datetime, UUID]]],
        venue_id: FromPath[UUID],
        starts: WindowStart,
        ends: WindowEnd,
    ) -> KeysetPage[Booking]:
        check_window(starts, ends, longest=LONGEST_CALENDAR)
        async with db.transaction(staff) as conn:
            found(await service.venue_exists(conn, venue_id=venue_id), f"No venue {venue_id}.")
            bookings = await service.list_venue_bookings(
                conn, venue_id=venue_id, starts=starts, ends=ends, after=keyset.after, limit=keyset.limit
            )
        return keyset.page(bookings)


class BookingController(Controller):
    path = "/bookings"
    tags = ["bookings"]

    @get("/{booking_id:uuid}", summary="A booking with its venue (yours; staff: any).")
    async def get_booking(self, db: Db, caller: CurrentCaller, booking_id: FromPath[UUID]) -> BookingWithVenue:
        async with db.connection() as conn:
            booking = await service.get_booking(conn, caller=caller, booking_id=booking_id, owner=rows_of(caller))
        return found(booking, f"No booking {booking_id}.")

    @post("/{booking_id:uuid}/confirm", status_code=200, summary="Confirm a pending booking (staff).")
    async def confirm_booking(self, db: Db, staff: Staff, booking_id: FromPath[UUID]) -> BookingWithVenue:
        return await self._move(db, staff, booking_id, to="confirmed")

    @post("/{booking_id:uuid}/complete", status_code=200, summary="Mark a confirmed booking completed (staff).")
    async def complete_booking(self, db: Db, staff: Staff, booking_id: FromPath[UUID]) -> BookingWithVenue:
        return await self._move(db, staff, booking_id, to="completed")

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
                raise NotFoundException(detail=f"No booking {booking_id}.") from None
            if refused is not None:
                allowed = " or ".join(service.ALLOWED_FROM[to])
                raise ProblemError(
                    409,
                    "booking-state-conflict",
                    detail=f"Booking {booking_id} is {refused}: only a {allowed} booking can become {to}.",
                )
            booking = await service.get_booking(conn, caller=caller, booking_id=booking_id, owner=owner)
        assert booking is not None  # changed in this transaction
        return booking


class MyBookingController(Controller):
    path = "/me/bookings"
    tags = ["bookings"]

    @get(
        "/",
        dependencies=MY_BOOKINGS.dependencies,
        summary="Your bookings with their venues, latest start first, by keyset.",
    )
    async def list_my_bookings(
        self, db: Db, caller: CurrentCaller, keyset: NamedDependency[KeysetParams[tuple[datetime, UUID]]]
    ) -> KeysetPage[BookingWithVenue]:
        async with db.connection() as conn:
            bookings = await service.list_user_bookings(
                conn, caller=caller, user_id=caller.user_id, after=keyset.after, limit=keyset.limit
            )
        return keyset.page(bookings)


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
        admin: Admin,
        starts: WindowStart,
        ends: WindowEnd,
        group: Annotated[StatsGroup, QueryParameter(description="day (UTC) or venue.")] = "day",
    ) -> BookingStats:
        check_window(starts, ends, longest=LONGEST_STATS)
        async with db.transaction(admin) as conn:
            totals, rows = await service.booking_stats(conn, starts=starts, ends=ends, group=group)
        return BookingStats(starts_at=_utc(starts), ends_at=_utc(ends), group=group, totals=totals, rows=rows)
