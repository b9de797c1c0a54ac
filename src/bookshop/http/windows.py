"""Time windows in query parameters: both ends with an offset, in order, and not too long."""

from datetime import datetime, timedelta

from bookshop.http.errors import field_error


def check_window(
    starts: datetime, ends: datetime, *, names: tuple[str, str] = ("from", "to"), longest: timedelta | None = None
) -> None:
    """400 naming the parameter at fault when an end has no time zone offset (its instant would
    depend on the server's zone), when the window is empty or reversed, or longer than `longest`."""
    for name, moment in zip(names, (starts, ends), strict=True):
        if moment.tzinfo is None:
            raise field_error(name, "Give a time zone offset (Z or +hh:mm)")
    if starts >= ends:
        raise field_error(names[0], f"Must be before {names[1]}")
    if longest is not None and ends - starts > longest:
        raise field_error(names[1], f"At most {longest.days} days after {names[0]}")
