"""Request and response payloads of the orders context."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

import msgspec

OrderStatus = Literal["pending", "paid", "shipped", "cancelled"]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=1000)]
MAX_LINES = 100


class OrderLineIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    book_id: UUID
    quantity: Quantity


class OrderIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    lines: Annotated[list[OrderLineIn], msgspec.Meta(min_length=1, max_length=MAX_LINES)]

    def __post_init__(self) -> None:
        if len({line.book_id for line in self.lines}) < len(self.lines):
            raise ValueError("`lines` must name each book once; order more of it with `quantity`")


class OrderLine(msgspec.Struct, kw_only=True):
    line_no: int
    book_id: UUID
    title: str
    quantity: int
    unit_price: Decimal  # the book's price when the order was placed


class OrderSummary(msgspec.Struct, kw_only=True):
    id: UUID
    user_id: UUID
    status: OrderStatus
    total: Decimal
    created_at: datetime
    updated_at: datetime


class Order(OrderSummary, kw_only=True):
    lines: list[OrderLine]


class Invoice(msgspec.Struct, kw_only=True):
    id: UUID
    order_id: UUID
    user_id: UUID
    number: str  # INV-<year>-<nnnnnn>
    amount: Decimal
    issued_at: datetime
    voided_at: datetime | None


class Shortfall(msgspec.Struct, frozen=True, kw_only=True):
    book_id: UUID
    available: int
    wanted: int
