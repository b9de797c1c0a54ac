"""Request and response payloads of the bookings context: venues, bookings, availability, stats."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

import msgspec

BookingStatus = Literal["pending", "confirmed", "completed", "cancelled"]
StatsGroup = Literal["day", "venue"]

# The bounds of venues' CHECKs (0018): the dearest longest booking still fits numeric(12, 2).
MAX_HOURLY_PRICE = Decimal("1000000")
MAX_BOOKING_HOURS = 8_784  # 366 days
DEFAULT_MAX_BOOKING_HOURS = 24

VenueName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Address = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Capacity = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
MaxBookingHours = Annotated[int, msgspec.Meta(ge=1, le=MAX_BOOKING_HOURS)]
# An offset is required: a booking's period is an instant in time, not a wall-clock reading.
Instant = Annotated[datetime, msgspec.Meta(tz=True)]


def _check_hourly_price(price: Decimal | msgspec.UnsetType) -> None:
    # is_finite first: NaN compares as an error, not as False, and Infinity would pass ">= 0".
    if isinstance(price, Decimal) and not (
        price.is_finite() and 0 <= price <= MAX_HOURLY_PRICE and price == round(price, 2)
    ):
        raise ValueError(f"`hourly_price` must be between 0 and {MAX_HOURLY_PRICE} with at most two decimals")


class VenueIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: VenueName
    address: Address
    latitude: Latitude
    longitude: Longitude
    capacity: Capacity
    hourly_price: Decimal  # a booking costs this times its hours, part hours pro rata
    max_booking_hours: MaxBookingHours = DEFAULT_MAX_BOOKING_HOURS

    def __post_init__(self) -> None:
        _check_hourly_price(self.hourly_price)


class VenueUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields present change."""

    name: VenueName | msgspec.UnsetType = msgspec.UNSET
    address: Address | msgspec.UnsetType = msgspec.UNSET
    latitude: Latitude | msgspec.UnsetType = msgspec.UNSET
    longitude: Longitude | msgspec.UnsetType = msgspec.UNSET
    capacity: Capacity | msgspec.UnsetType = msgspec.UNSET
    hourly_price: Decimal | msgspec.UnsetType = msgspec.UNSET
    max_booking_hours: MaxBookingHours | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        _check_hourly_price(self.hourly_price)


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
