"""The service platform's Sanic application."""

from __future__ import annotations

import logging
import time

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json

from backend.api.catalogue import catalogue_routes
from backend.api.errors import install_error_handlers
from backend.catalogue import sources
from backend.catalogue.catalogue import Catalogue
from backend.openapi import OPENAPI
from backend.settings import Settings
from backend.store import load_items, load_regions, make_engine, sync_catalogue

log = logging.getLogger(__name__)


def load_catalogue(settings: Settings) -> Catalogue:
    """Synchronise the data files into the database, then build the catalogue from it."""
    started = time.perf_counter()
    engine = make_engine(settings.database_url)
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
    log.info(
        "catalogue ready: %d items, %d regions (%d rows written) in %.1fs",
        len(catalogue.items),
        len(catalogue.regions),
        report.changed,
        time.perf_counter() - started,
    )
    return catalogue


def create_app(settings: Settings, catalogue: Catalogue, name: str = "zhengwu_platform") -> Sanic:
    app = Sanic(name, configure_logging=False)
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.settings = settings
    app.ctx.catalogue = catalogue
    install_error_handlers(app)
    app.blueprint(catalogue_routes)

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    @app.get("/api/v1/openapi.json")
    async def openapi(request: Request) -> HTTPResponse:
        return json(OPENAPI)

    return app
