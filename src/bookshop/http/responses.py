"""Responses whose status says what a write did."""

from typing import TypeVar

from litestar import Response

T = TypeVar("T")


def created_or_replaced(value: T, *, created: bool) -> Response[T]:
    """An upsert's answer: 201 when it made the row, 200 when it replaced one."""
    return Response(value, status_code=201 if created else 200)
