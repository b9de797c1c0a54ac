"""The API docs page (Swagger UI at /schema) with its assets served by the app itself.

Litestar's plugin points the page at a CDN by default, which leaves it blank on a network without
the internet. The script, style sheet and icon come instead from the swagger-ui-bundle-v2 wheel
(Swagger UI's own dist files) and are served under /schema/assets/, so the page needs nothing
but this service.
"""

from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

from bookshop.http.security import DOCS_PATH

ASSETS_PATH = f"{DOCS_PATH}/assets"


def swagger_page() -> SwaggerRenderPlugin:
    """Swagger UI at /schema (and /schema/swagger), loading only what assets_router serves."""
    return SwaggerRenderPlugin(
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
    )


def assets_router() -> Router:
    """Swagger UI's dist folder, as installed with the wheel, under /schema/assets/."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[str(swagger_ui_path)],
        include_in_schema=False,
        name="docs-assets",
    )
