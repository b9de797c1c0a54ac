"""Request bodies decoded strictly, straight into the route's declared type.

Litestar by default decodes a JSON body into plain values and then converts them with lax rules
(`"3"` becomes 3), parses any media type as JSON, and lets a decoder's RecursionError or a
malformed byte sequence escape as a 500. Here a body is JSON only when it says so (else 415),
and msgspec decodes it in one pass into the handler's `data` type with strict rules; invalid
UTF-8, malformed or too deeply nested JSON, and values of the wrong type are a 400 naming the
field.
"""

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import HTTPException, ValidationException

JSON_MEDIA_TYPES = ("application/json",)
# msgspec names the place of a wrong value in its message: "... - at `$.lines[0].quantity`".
_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
# Checks of a struct's own (missing or unknown fields, __post_init__) name the field in backquotes.
_NAMED_FIELD = re.compile(r"`([^`]+)`")


def field_of(message: str) -> str:
    """The body field a msgspec validation message is about ("body" when it names none)."""
    at = _AT_PATH.search(message)
    if at and at.group(1):
        return at.group(1)
    named = _NAMED_FIELD.search(message)
    return named.group(1) if named else "body"


def _invalid_body(field: str, message: str) -> ValidationException:
    return ValidationException(
        detail="The request body is not valid.", extra=[{"key": field, "message": message, "source": "body"}]
    )


class StrictRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        body = await self.body()
        media_type = self.content_type[0]
        if media_type not in JSON_MEDIA_TYPES and not media_type.endswith("+json"):
            raise HTTPException(status_code=415, detail=f"Send application/json, not {media_type or 'nothing'}.")
        field = self.route_handler.parsed_data_field
        target = field.annotation if field is not None else Any
        try:
            return msgspec.json.decode(body or b"null", type=target)
        except msgspec.ValidationError as error:
            message = str(error)
            raise _invalid_body(field_of(message), _AT_PATH.sub("", message)) from None
        except msgspec.DecodeError as error:
            raise _invalid_body("body", f"Not valid JSON: {error}") from None
        except UnicodeDecodeError:
            raise _invalid_body("body", "Not UTF-8") from None
        except RecursionError:
            raise _invalid_body("body", "JSON nested too deeply") from None


def check_json_document(value: Any, *, field: str, max_depth: int, max_bytes: int) -> None:
    """ValueError naming `field` when a free-form JSON value (metadata, preferences) nests
    deeper than max_depth or encodes to more than max_bytes: both bound what one row stores and
    what every later read of it decodes."""
    if len(msgspec.json.encode(value)) > max_bytes:
        raise ValueError(f"`{field}` is larger than {max_bytes:,} bytes as JSON")
    level: list[Any] = [value]
    for _ in range(max_depth + 1):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return
    raise ValueError(f"`{field}` nests deeper than {max_depth} levels")
