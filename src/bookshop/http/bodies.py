"""Request bodies decoded strictly, straight into the route's declared type.

Litestar by default decodes a JSON body into plain values and then converts them with lax rules
(`"3"` becomes 3), parses any media type as JSON, and lets a decoder's RecursionError or a
malformed byte sequence escape as a 500. Here a body is JSON only when it says so (else 415),
and msgspec decodes it in one pass into the handler's `data` type with strict rules; invalid
UTF-8, malformed or too deeply nested JSON, and values of the wrong type are a 400 naming the
field.
"""

import re
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.exceptions import HTTPException, ValidationException

from bookshop.http.text import NO_NUL

JSON_MEDIA_TYPES = ("application/json",)

# A free-form JSON value (metadata, preferences, a setting) as the OpenAPI document shows it: any
# JSON whose text holds no NUL, which jsonb cannot store (check_json_document refuses it).
JSON_VALUE = "JsonValue"
_JSON_VALUE_REF = {"$ref": f"#/components/schemas/{JSON_VALUE}"}
_FREE_OBJECT = {"propertyNames": {"pattern": NO_NUL}, "additionalProperties": _JSON_VALUE_REF}
JSON_VALUE_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "null"},
        {"type": "boolean"},
        {"type": "number"},
        {"type": "string", "pattern": NO_NUL},
        {"type": "array", "items": _JSON_VALUE_REF},
        {"type": "object", **_FREE_OBJECT},
    ]
}
JSON_OBJECT_SCHEMA: dict[str, Any] = {"type": "object", **_FREE_OBJECT}
JsonObject = Annotated[dict[str, Any], msgspec.Meta(extra_json_schema=_FREE_OBJECT)]
# A setting's value: any JSON but null (removing a setting is DELETE).
JsonSetting = Annotated[Any, msgspec.Meta(extra_json_schema={**_JSON_VALUE_REF, "not": {"type": "null"}})]
# msgspec names the place of a wrong value in its message: "... - at `$.lines[0].quantity`".
_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
# Checks of a struct's own (missing or unknown fields, __post_init__) name the field in backquotes.
_NAMED_FIELD = re.compile(r"`([^`]+)`")


_FLOAT_FOR_INT = re.compile(r"^Expected `int[^`]*`, got `float`")


def _integral_as_int(literal: str) -> int | float:
    number = float(literal)
    return int(number) if number.is_integer() else number


_INTEGRAL_FLOATS_AS_INTS = msgspec.json.Decoder(float_hook=_integral_as_int)


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
            try:
                return msgspec.json.decode(body or b"null", type=target)
            except msgspec.ValidationError as error:
                if not _FLOAT_FOR_INT.search(str(error)):
                    raise
                # JSON Schema counts 5.0 as an integer and msgspec does not: read it again with
                # integral numbers as ints (only on this path, so no other body pays for it).
                return msgspec.convert(_INTEGRAL_FLOATS_AS_INTS.decode(body), target, strict=True)
        except msgspec.ValidationError as error:
            message = str(error)
            raise _invalid_body(field_of(message), _AT_PATH.sub("", message)) from None
        except msgspec.DecodeError as error:
            raise _invalid_body("body", f"Not valid JSON: {error}") from None
        except UnicodeDecodeError:
            raise _invalid_body("body", "Not UTF-8") from None
        except RecursionError:
            raise _invalid_body("body", "JSON nested too deeply") from None


# JSON's escape for NUL, not preceded by an escaped backslash (the text "\\u0000" is no NUL).
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def holds_nul(encoded: bytes) -> bool:
    """Whether JSON text (as msgspec encodes it) has a NUL in a string or a key."""
    return _ESCAPED_NUL.search(encoded) is not None


def check_json_document(value: Any, *, field: str, max_depth: int, max_bytes: int) -> None:
    """ValueError naming `field` when a free-form JSON value (metadata, preferences) encodes to
    more than max_bytes or nests deeper than max_depth (both bound what one row stores and what
    every later read of it decodes), or holds a NUL, which jsonb cannot store."""
    encoded = msgspec.json.encode(value)
    if len(encoded) > max_bytes:
        raise ValueError(f"`{field}` is larger than {max_bytes:,} bytes as JSON")
    if holds_nul(encoded):
        raise ValueError(f"`{field}` holds a NUL character, which PostgreSQL cannot store")
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
