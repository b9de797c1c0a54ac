"""The OpenAPI document, made exact where Litestar's generator is not.

Litestar builds the document from the routes; three things it cannot know are added here, once
per process, when /schema/openapi.json is first asked for (not when the app is built: that
would cost every start, and every test's app, about 0.1 s):
- the payloads as msgspec itself validates and encodes them (msgspec's own JSON Schema: unknown
  fields forbidden where a struct forbids them, every bound kept, decimals as the strings they
  are), in place of Litestar's rendering of the same structs;
- who may call each operation: the API key is required where the handler takes a signed-in
  caller, optional where anyone may call (a key that is sent must be valid, see http/auth.py);
- the problem+json answers each operation can give, from what its handler declares: 400 for
  anything it reads, 401 for a bad key and 403 for a deactivated account's (on every route, since
  a key sent anywhere is checked), 404 for what it looks up, 409 and 422 for writes the
  constraints refuse, 408, 413 and 415 for bodies, 429 from the rate limiter, 503 when the
  database is unavailable.
"""

import importlib
import inspect
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.routes import HTTPRoute

from bookshop.http.auth import needs_signed_in_caller
from bookshop.http.bodies import JSON_OBJECT_SCHEMA, JSON_VALUE, JSON_VALUE_SCHEMA
from bookshop.http.errors import PROBLEM_JSON

# The modules whose structs are request or response payloads.
PAYLOAD_MODULES = (
    "bookshop.accounts.schemas",
    "bookshop.bookings.schemas",
    "bookshop.catalog.schemas",
    "bookshop.catalog.importer",
    "bookshop.jobs.schemas",
    "bookshop.ops.schemas",
    "bookshop.orders.schemas",
    "bookshop.http.errors",
)
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODIES = frozenset({"POST", "PUT", "PATCH"})  # a body may come, declared or read by the handler
NOT_RATE_LIMITED = frozenset({"/health", "/ready", "/metrics"})
API_KEY: dict[str, list[str]] = {"ApiKey": []}


def payload_structs() -> Iterator[type[msgspec.Struct]]:
    for name in PAYLOAD_MODULES:
        for _, value in inspect.getmembers(importlib.import_module(name), inspect.isclass):
            generic = bool(getattr(value, "__parameters__", ()))
            if issubclass(value, msgspec.Struct) and value.__module__ == name and not generic:
                yield value


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": HTTPStatus(status).phrase,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _raw_body(media_types: list[str]) -> dict[str, Any]:
    """A body the handler reads itself (not JSON into a struct): text in the media types it takes."""
    return {"required": True, "content": {media_type: {"schema": {"type": "string"}} for media_type in media_types}}


def _answers(path: str, method: str, *, reads: bool, body: bool, path_params: bool, signed_in: bool) -> set[int]:
    statuses = {401, 403, 503}
    if path not in NOT_RATE_LIMITED:
        statuses.add(429)
    if reads:
        statuses.add(400)
    if path_params or signed_in:
        statuses.add(404)  # what the path names, or the caller's own account when it is gone
    if body:
        statuses |= {400, 408, 413, 415, 422}
    if method in WRITES:
        statuses |= {409, 422}
    return statuses


def complete_document(app: Litestar, document: dict[str, Any]) -> None:
    """Completes Litestar's document of the app, in place (see the module's docstring)."""
    _, components = msgspec.json.schema_components(list(payload_structs()), ref_template="#/components/schemas/{name}")
    document.setdefault("components", {}).setdefault("schemas", {}).update(
        {**components, JSON_VALUE: JSON_VALUE_SCHEMA}
    )
    document.pop("security", None)
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            signed_in = needs_signed_in_caller(handler)
            data = handler.parsed_data_field
            for method in handler.http_methods:
                operation = document.get("paths", {}).get(route.path_format, {}).get(method.lower())
                if operation is None:  # not in the document (the docs pages themselves)
                    continue
                operation["security"] = [API_KEY] if signed_in else [{}, API_KEY]
                statuses = _answers(
                    route.path_format,
                    method,
                    reads=bool(operation.get("parameters")) or "requestBody" in operation,
                    body=method in BODIES,
                    path_params=bool(route.path_parameters),
                    signed_in=signed_in,
                )
                if data is not None and data.is_optional and "requestBody" in operation:
                    operation["requestBody"]["required"] = False
                if media_types := handler.opt.get("body_media_types"):
                    operation["requestBody"] = _raw_body(media_types)
                for parameter in operation.get("parameters", []):
                    if parameter["name"] in handler.opt.get("json_parameters", ()):
                        del parameter["schema"]  # a JSON object in the query string, not free text
                        parameter["content"] = {"application/json": {"schema": JSON_OBJECT_SCHEMA}}
                responses = operation.setdefault("responses", {})
                for status in sorted(statuses):
                    responses[str(status)] = _problem(status)


class ExactJsonRenderPlugin(JsonRenderPlugin):
    """Serves /schema/openapi.json completed by complete_document."""

    def __init__(self) -> None:
        super().__init__()
        self.completed = False

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if not self.completed:  # the dict is Litestar's cached document: completing it once lasts
            complete_document(request.app, openapi_schema)
            self.completed = True
        return super().render(request, openapi_schema)
