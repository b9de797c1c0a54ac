"""Responses whose status says what a write did."""

from typing import Any, TypeVar

from litestar import Response
from litestar.openapi import ResponseSpec

T = TypeVar("T")


def created_or_replaced(value: T, *, created: bool) -> Response[T]:
    """An upsert's answer: 201 when it made the row, 200 when it replaced one."""
    return Response(value, status_code=201 if created else 200)


def upsert_responses(payload: type[Any]) -> dict[int, ResponseSpec]:
    """The 201 of a route that answers with created_or_replaced, for its OpenAPI entry (the 200
    is the route's own)."""
    return {201: ResponseSpec(data_container=payload, description="Created")}
