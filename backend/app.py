"""The service platform's Sanic application."""

from __future__ import annotations

import logging
import time

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json
from sqlalchemy.engine import Engine

from backend.api.applications import application_routes
from backend.api.appointments import appointment_routes
from backend.api.auth import install_lockout_handler
from backend.api.catalogue import catalogue_routes
from backend.api.complaints import complaint_routes
from backend.api.errors import install_error_handlers
from backend.api.open311 import install_open311_error_handler, open311_routes
from backend.api.portal import portal_routes
from backend.api.staff_console import staff_console_routes
from backend.api.uploads import upload_routes
from backend.catalogue import sources
from backend.catalogue.catalogue import Catalogue
from backend.complaints.categories import read_complaint_codes
from backend.notify import Notifier
from backend.openapi import OPENAPI
from backend.procedure.workdays import WorkCalendar
from backend.settings import Settings
from backend.store import load_items, load_regions, make_engine, sync_catalogue
from bot import content_length

log = logging.getLogger(__name__)

# Bodies are small JSON objects; anything near this is not a request of ours.
MAX_BODY_BYTES = 64 * 1024


def load_catalogue(settings: Settings, engine: Engine | None = None) -> Catalogue:
    """Synchronise the data files into the database, then build the catalogue from it."""
    started = time.perf_counter()
    own_engine = engine is None
    engine = engine or make_engine(settings.database_url)
    report = sync_catalogue(engine, sources.read_regions(), sources.read_items())
    catalogue = Catalogue.build(
        items=load_items(engine),
        regions=load_regions(engine),
        not_places=sources.read_not_places(),
        departments=sources.read_departments(),
        labels=sources.read_labels(),
        synonyms=sources.read_synonyms(),
        phrasings=sources.read_phrasings(),
    )
    if own_engine:
        engine.dispose()
    log.info(
        "catalogue ready: %d items, %d regions (%d rows written) in %.1fs",
        len(catalogue.items),
        len(catalogue.regions),
        report.changed,
        time.perf_counter() - started,
    )
    return catalogue


def create_app(
    settings: Settings, catalogue: Catalogue, name: str = "zhengwu_platform", engine: Engine | None = None
) -> Sanic:
    """The platform over `catalogue`; its records in `engine`, or in a new one on settings.database_url."""
    app = Sanic(name, configure_logging=False)
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.ctx.settings = settings
    app.ctx.catalogue = catalogue
    app.ctx.engine = engine or make_engine(settings.database_url)
    app.ctx.calendar = WorkCalendar.from_data(sources.read_holidays())
    app.ctx.complaint_codes = read_complaint_codes()
    app.ctx.notifier = Notifier(app.ctx.engine, settings.rasa_url, settings.rasa_token)
    install_error_handlers(app)
    content_length.install(app)
    install_lockout_handler(app)
    install_open311_error_handler(app)
    app.blueprint(catalogue_routes)
    app.blueprint(application_routes)
    app.blueprint(appointment_routes)
    app.blueprint(complaint_routes)
    app.blueprint(open311_routes)
    app.blueprint(staff_console_routes)
    app.blueprint(portal_routes)
    app.blueprint(upload_routes)

    @app.after_server_start
    async def start_notifier(app: Sanic, _: object) -> None:
        await app.ctx.notifier.start()

    @app.before_server_stop
    async def stop_notifier(app: Sanic, _: object) -> None:
        await app.ctx.notifier.stop()

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    @app.get("/api/v1/openapi.json")
    async def openapi(request: Request) -> HTTPResponse:
        return json(OPENAPI)

    return app
