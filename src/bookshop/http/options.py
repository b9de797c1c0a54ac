"""OPTIONS answers with every method the URL takes.

Litestar 2 makes a path's OPTIONS handler when the path's first handler is registered; handlers
added to the path later are missing from its Allow header (litestar#4169, fixed in Litestar 3),
so `OPTIONS /authors/{id}` said `DELETE, OPTIONS` of a path that also has GET and PATCH. This
answers from the app's finished routes instead. Routes that differ only in their parameters
(`/books/{id_or_slug:str}` GET, `/books/{book_id:uuid}` PATCH) share one place in Litestar's
router; a URL takes the methods of those whose parameters it fits: `/books/dune` only GET, a
book's id GET, PATCH and DELETE.
"""

import re
from typing import Any

from litestar import Litestar, Request, Response
from litestar.routes import HTTPRoute
from litestar.types.internal_types import PathParameterDefinition

_PARAMETER = re.compile(r"\{[^}]*\}")


def _shape(path_format: str) -> str:
    return _PARAMETER.sub("{}", path_format)


def _fits(route: HTTPRoute, segments: list[str]) -> bool:
    for component, segment in zip(route.path_components, segments, strict=False):
        if isinstance(component, PathParameterDefinition) and component.parser is not None:
            try:
                component.parser(segment)
            except ValueError:
                return False
    return True


class AllowEveryMethod:
    """`on_startup` groups the routes by place; `before_request` answers OPTIONS from them."""

    def __init__(self) -> None:
        self.routes: dict[str, list[HTTPRoute]] = {}

    def on_startup(self, app: Litestar) -> None:
        for route in app.routes:
            if isinstance(route, HTTPRoute):
                self.routes.setdefault(_shape(route.path_format), []).append(route)

    async def before_request(self, request: Request[Any, Any, Any]) -> Response[None] | None:
        if request.method != "OPTIONS":
            return None
        segments = [segment for segment in request.scope["path"].split("/") if segment]
        routes = self.routes[_shape(request.scope["path_template"])]
        methods = {method for route in routes if _fits(route, segments) for method in route.methods}
        return Response(None, status_code=204, headers={"Allow": ", ".join(sorted(methods))})
