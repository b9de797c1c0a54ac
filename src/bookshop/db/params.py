"""Structs into named-query parameters."""

from typing import Any

import msgspec


def update_params(changes: msgspec.Struct) -> dict[str, Any]:
    """A partial update's fields as parameters: a field left UNSET is NULL, which the update
    queries read as "keep" (`coalesce(:name, name)`)."""
    return {
        name: None if (value := getattr(changes, name)) is msgspec.UNSET else value
        for name in changes.__struct_fields__
    }
