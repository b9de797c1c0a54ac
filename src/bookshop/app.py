"""The Litestar application: routes, dependencies, error mapping, and the pool's lifespan."""

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from bookshop.accounts.key_use import recording_key_use
from bookshop.accounts.routes import AccountController, AdminUserController, MeController, UserController
from bookshop.bookings.routes import AdminBookingController, BookingController, MyBookingController, VenueController
from bookshop.catalog.routes import AuthorController, BookController, TagController
from bookshop.db.configured import resolve_database_urls
from bookshop.db.pool import Database, create_pool, named_statements, needed_limits
from bookshop.db.query_log import QueryObserver
from bookshop.db.replica import open_replica
from bookshop.http.admission import Admission
from bookshop.http.auth import provide_caller, require_admin, require_staff
from bookshop.http.bodies import StrictRequest
from bookshop.http.dependencies import provide_database, resolve_dependencies_in_turn
from bookshop.http.docs_page import assets_router, swagger_page
from bookshop.http.errors import EXCEPTION_HANDLERS
from bookshop.http.health import HealthController
from bookshop.http.logs import logging_config
from bookshop.http.metrics import Metrics, MetricsController
from bookshop.http.observe import RequestObserver
from bookshop.http.openapi import ExactJsonRenderPlugin
from bookshop.http.rate_limit import rate_limit
from bookshop.http.security import DOCS_PATH, cors_config
from bookshop.jobs.routes import AdminJobController
from bookshop.ops.diagnostics import migration_files
from bookshop.ops.routes import AdminDiagnosticsController, AdminEventController
from bookshop.orders.routes import InvoiceController, MyOrderController, OrderController
from bookshop.settings import DEVELOPMENT_PEPPER, Settings

logger = logging.getLogger("bookshop")


@asynccontextmanager
async def startup_objects_frozen(app: Litestar) -> AsyncIterator[None]:
    """While the app serves, what its start made (routes, schemas, the pool, imported modules:
    about 100,000 objects) is out of the cyclic collector's sight, and a full collection walks
    only what requests left behind: 0.01 ms instead of 52, a pause every request in flight
    waited out (bench/README.md). The last lifespan, so the pool is made first; at shutdown the
    objects are handed back to the collector, so an app started and stopped in a process that
    goes on (the tests) leaves nothing uncollectable behind."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def create_app(settings: Settings | None = None) -> Litestar:
    """Builds the app; with no settings given, reads them from the environment (as granian does)."""
    settings = settings or Settings.from_env()
    dsn = resolve_database_urls(settings).app
    metrics = Metrics() if settings.metrics_enabled else None
    resolve_dependencies_in_turn()
    admission = Admission()
    limit = rate_limit(
        settings.rate_limit_per_minute,
        store=settings.rate_limit_store,
        retry_after_seconds=settings.retry_after_seconds,
    )

    @asynccontextmanager
    async def pool_lifespan(app: Litestar) -> AsyncIterator[None]:
        observer = QueryObserver(
            named_statements(),
            slow_query_ms=settings.slow_query_ms,
            histogram=metrics.query_seconds if metrics else None,
        )
        pool = await create_pool(settings, dsn=dsn, observer=observer)
        limits = await needed_limits(pool, settings)
        try:
            # Public reads on the replica when one is set (db/replica.py); key use written off
            # the request's path (accounts/key_use.py); with several workers, each writes its
            # pool gauges for the shared metrics (http/metrics.py).
            async with open_replica(settings, primary=pool, observer=observer) as replica:
                database = Database(pool, acquire_timeout=settings.pool_acquire_timeout, replica=replica, limits=limits)
                app.state.database = database
                app.state.primary_database = database.primary_only()
                async with (
                    recording_key_use(database) as key_use,
                    metrics.worker(database) if metrics else contextlib.nullcontext(),
                ):
                    app.state.key_use = key_use
                    yield
        finally:
            await pool.close()

    app = Litestar(
        route_handlers=[
            HealthController,
            *([MetricsController] if metrics else []),
            UserController,
            AccountController,
            MeController,
            AdminUserController,
            AuthorController,
            BookController,
            TagController,
            OrderController,
            MyOrderController,
            InvoiceController,
            VenueController,
            BookingController,
            MyBookingController,
            AdminBookingController,
            AdminJobController,
            AdminEventController,
            AdminDiagnosticsController,
            assets_router(),
        ],
        dependencies={
            "db": Provide(provide_database, sync_to_thread=False),
            "caller": Provide(provide_caller),
            "staff": Provide(require_staff, sync_to_thread=False),
            "admin": Provide(require_admin, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[pool_lifespan, *([limit.lifespan] if limit else []), startup_objects_frozen],
        on_startup=[admission.on_startup],
        before_request=admission.before_request,
        state=State({"settings": settings, "metrics": metrics}),
        openapi_config=OpenAPIConfig(
            title="bookshop",
            version="0.1.0",
            path=DOCS_PATH,
            render_plugins=[swagger_page(), ExactJsonRenderPlugin()],
            components=Components(security_schemes={"ApiKey": SecurityScheme(type="http", scheme="bearer")}),
        ),
        middleware=[limit.middleware] if limit else [],
        cors_config=cors_config(settings.cors_allow_origins),
        logging_config=logging_config(level=settings.log_level, log_format=settings.log_format),
        request_max_body_size=settings.max_body_bytes,
        request_class=StrictRequest,
    )
    # What /ready checks the schema against (http/health.py), read from migrations/ once.
    app.state.code_migrations = migration_files()
    # Around the whole app, 404s of unknown paths and error responses included (http/observe.py).
    app.asgi_handler = RequestObserver(app.asgi_handler, metrics=metrics, body_timeout=settings.body_timeout_seconds)
    # After Litestar set up logging, so the warning leaves in the configured format.
    if settings.database_url and settings.api_key_pepper == DEVELOPMENT_PEPPER:
        logger.warning("API_KEY_PEPPER is the development default: set a secret of your own for a real database")
    return app
