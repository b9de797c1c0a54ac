"""Time windows in query parameters: both ends with an offset, in order, and not too long."""

from datetime import UTC, datetime, timedelta

from bookshop.http.errors import field_error


def check_window(
    starts: datetime, ends: datetime, *, names: tuple[str, str] = ("from", "to"), longest: timedelta | None = None
) -> None:
    """400 naming the parameter at fault when an end has no time zone offset (its instant would
    depend on the server's zone) or no UTC instant, when the window is empty or reversed, or
    longer than `longest`."""
    for name, moment in zip(names, (starts, ends), strict=True):
        if moment.tzinfo is None:
            raise field_error(name, "Give a time zone offset (Z or +hh:mm)")
        try:  # 0001-01-01T00:00+01:00 is a valid time whose UTC instant Python cannot hold
            moment.astimezone(UTC)
        except OverflowError:
            raise field_error(name, "Out of range: its UTC time is before year 1 or after 9999") from None
    if starts >= ends:
        raise field_error(names[0], f"Must be before {names[1]}")
    if longest is not None and ends - starts > longest:
        raise field_error(names[1], f"At most {longest.days} days after {names[0]}")


def window_until(until: datetime | None, since: datetime | None, *, length: timedelta) -> tuple[datetime, datetime]:
    """A window ending at `until` (default now) and starting at `since` (default `length`
    before it), checked as check_window does; the parameters are named since and until."""
    until = until or datetime.now(UTC)
    if since is None:
        try:
            since = until - length
        except OverflowError:
            raise field_error(
                "until", f"Too early: a window of {length.days} days before it starts before year 1"
            ) from None
    check_window(since, until, names=("since", "until"))
    return since, until
