"""Payloads of the operations context: the audit log."""

from datetime import datetime
from typing import Any

import msgspec


class Event(msgspec.Struct, kw_only=True):
    id: int
    occurred_at: datetime
    actor: str  # user:<id>, or worker
    kind: str
    subject: str  # order:<id>, invoice:<id>, job:<id>
    payload: dict[str, Any]


class EventPage(msgspec.Struct):
    items: list[Event]
    next: str | None
