"""Request and response payloads of the bookings context: venues, bookings, availability, stats."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from bookshop.http.text import SHOWN, decimal_text

BookingStatus = Literal["pending", "confirmed", "completed", "cancelled"]
StatsGroup = Literal["day", "venue"]

# Within the bounds of venues' CHECKs (0018): the dearest longest booking still fits numeric(12, 2).
MAX_BOOKING_HOURS = 8_784  # 366 days
DEFAULT_MAX_BOOKING_HOURS = 24

VenueName = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=SHOWN)]
Address = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=SHOWN)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Capacity = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
MaxBookingHours = Annotated[int, msgspec.Meta(ge=1, le=MAX_BOOKING_HOURS)]
# 0 to 999999.99, as text (http/text.py says why)
HourlyPrice = Annotated[str, msgspec.Meta(pattern=decimal_text(6), examples=["40.00"])]
# Degrees are kept to 9 places (0.1 mm): earthdistance's ll_to_earth fails on subnormal ones
# ("value out of range: underflow", 5e-324 say), and finer than this means nothing on a map.
COORDINATE_PLACES = 9


def coordinate(degrees: float) -> float:
    return round(degrees, COORDINATE_PLACES)


# An offset is required: a booking's period is an instant in time, not a wall-clock reading.
Instant = Annotated[datetime, msgspec.Meta(tz=True)]


class VenueIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: VenueName
    address: Address
    latitude: Latitude
    longitude: Longitude
    capacity: Capacity
    hourly_price: HourlyPrice  # a booking costs this times its hours, part hours pro rata
    max_booking_hours: MaxBookingHours = DEFAULT_MAX_BOOKING_HOURS

    def __post_init__(self) -> None:
        self.latitude, self.longitude = coordinate(self.latitude), coordinate(self.longitude)


class VenueUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields present change."""

    name: VenueName | msgspec.UnsetType = msgspec.UNSET
    address: Address | msgspec.UnsetType = msgspec.UNSET
    latitude: Latitude | msgspec.UnsetType = msgspec.UNSET
    longitude: Longitude | msgspec.UnsetType = msgspec.UNSET
    capacity: Capacity | msgspec.UnsetType = msgspec.UNSET
    hourly_price: HourlyPrice | msgspec.UnsetType = msgspec.UNSET
    max_booking_hours: MaxBookingHours | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        if not isinstance(self.latitude, msgspec.UnsetType):
            self.latitude = coordinate(self.latitude)
        if not isinstance(self.longitude, msgspec.UnsetType):
            self.longitude = coordinate(self.longitude)


class Venue(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    address: str
    latitude: float
    longitude: float
    capacity: int
    hourly_price: Decimal
    max_booking_hours: int
    created_at: datetime
    updated_at: datetime


class NearbyVenue(Venue, kw_only=True):
    distance_km: float  # great-circle distance from the point searched


class VenueRef(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    address: str
    latitude: float
    longitude: float


class BookingIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """When, never how much: the database prices a booking from its venue (an `amount` sent is
    an unknown field, 400)."""

    starts_at: Instant
    ends_at: Instant  # exclusive: a booking may start when another ends

    def __post_init__(self) -> None:
        for name, moment in (("starts_at", self.starts_at), ("ends_at", self.ends_at)):
            try:  # 9999-12-31T23:00-05:00 is a valid time whose UTC instant Python cannot hold
                moment.astimezone(UTC)
            except OverflowError:
                raise ValueError(f"`{name}` is out of range: its UTC time is before year 1 or after 9999") from None
        if self.ends_at <= self.starts_at:
            raise ValueError("`ends_at` must be after `starts_at`")


class Booking(msgspec.Struct, kw_only=True):
    id: UUID
    user_id: UUID
    starts_at: datetime
    ends_at: datetime
    amount: Decimal
    status: BookingStatus
    created_at: datetime
    updated_at: datetime


class BookingWithVenue(Booking, kw_only=True):
    venue: VenueRef


class Period(msgspec.Struct):
    starts_at: datetime
    ends_at: datetime


class Availability(msgspec.Struct, kw_only=True):
    venue_id: UUID
    starts_at: datetime
    ends_at: datetime
    free: list[Period]


class BookingCounts(msgspec.Struct, kw_only=True):
    bookings: int
    pending: int
    confirmed: int
    completed: int
    cancelled: int
    revenue: Decimal  # the amounts of completed bookings


class StatsRow(BookingCounts, kw_only=True, omit_defaults=True):
    """One group's counts: `day` (the UTC day the bookings start) or `venue_id` and `venue_name`."""

    day: date | None = None
    venue_id: UUID | None = None
    venue_name: str | None = None


class BookingStats(msgspec.Struct, kw_only=True):
    """Bookings that start in [starts_at, ends_at), grouped by `group`, with their totals."""

    starts_at: datetime
    ends_at: datetime
    group: StatsGroup
    totals: BookingCounts
    rows: list[StatsRow]
