"""What every request passes before its handler runs, as one app-level `before_request` hook:
a bad API key is refused (http/auth.py), then OPTIONS is answered (http/options.py).

A hook rather than an app-level guard: Litestar copies the route handler for every guard call,
which was about a fifth of the CPU time of a `GET /health` (bench/README.md).
"""

from typing import Any

from litestar import Litestar, Request, Response

from bookshop.http.auth import require_key_header
from bookshop.http.options import AllowEveryMethod


class Admission:
    """The `before_request` hook, and the `on_startup` step that reads the app's routes for it."""

    def __init__(self) -> None:
        self.allow = AllowEveryMethod()

    def on_startup(self, app: Litestar) -> None:
        self.allow.on_startup(app)

    async def before_request(self, request: Request[Any, Any, Any]) -> Response[None] | None:
        await require_key_header(request)
        return self.allow.answer(request)
