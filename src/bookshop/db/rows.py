"""Rows into Structs."""

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)


def upserted(row: Mapping[str, Any] | None, struct: type[S]) -> tuple[S, bool] | None:
    """An upsert's row (with its `created` column) as the struct and whether it was
    created; None when the upsert wrote nothing (its parent row is missing)."""
    if row is None:
        return None
    fields = dict(row.items())
    created: bool = fields.pop("created")
    return struct(**fields), created
