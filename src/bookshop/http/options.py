"""OPTIONS answers with every method of the path.

Litestar 2 makes a path's OPTIONS handler when the path's first handler is registered; handlers
added to the path later are missing from its Allow header (litestar#4169, fixed in Litestar 3),
so `OPTIONS /authors/{id}` said `DELETE, OPTIONS` of a path that also has GET and PATCH. This
answers from the app's finished routes instead. Routes whose parameters differ only in type
(`/books/{book:str}` GET, `/books/{book:uuid}` PATCH) are one path and answer together.
"""

import re
from typing import Any

from litestar import Litestar, Request, Response
from litestar.routes import HTTPRoute

_PARAMETER = re.compile(r"\{[^}]*\}")


def _shape(path_format: str) -> str:
    return _PARAMETER.sub("{}", path_format)


class AllowEveryMethod:
    """`on_startup` reads the methods of every path; `answer` answers OPTIONS with them."""

    def __init__(self) -> None:
        self.allow: dict[str, str] = {}

    def on_startup(self, app: Litestar) -> None:
        methods: dict[str, set[str]] = {}
        for route in app.routes:
            if isinstance(route, HTTPRoute):
                methods.setdefault(_shape(route.path_format), set()).update(route.methods)
        self.allow = {shape: ", ".join(sorted(names)) for shape, names in methods.items()}

    def answer(self, request: Request[Any, Any, Any]) -> Response[None] | None:
        """The response to an OPTIONS request; None for every other method."""
        if request.method != "OPTIONS":
            return None
        allow = self.allow[_shape(request.scope["path_template"])]
        return Response(None, status_code=204, headers={"Allow": allow})
