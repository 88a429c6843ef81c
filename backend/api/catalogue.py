"""Routes for service items and regions (CONTRACT.md §3)."""

from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from backend.api.errors import ApiError
from backend.api.params import lang_param, limit_param, region_param, text_param
from backend.catalogue.catalogue import Catalogue
from backend.catalogue.items import ITEM_ID

catalogue_routes = Blueprint("catalogue", url_prefix="/api/v1")


def _catalogue(request: Request) -> Catalogue:
    catalogue: Catalogue = request.app.ctx.catalogue
    return catalogue


@catalogue_routes.get("/services")
async def list_services(request: Request) -> HTTPResponse:
    catalogue = _catalogue(request)
    query = text_param(request, "q")
    lang = lang_param(request, query)
    region = region_param(request, catalogue)
    limit = limit_param(request)
    results = catalogue.find_services(query, region, limit)
    return json(
        {
            "query": query,
            "lang": lang,
            "region": region.as_dict() if region else None,
            "results": [
                {"service": catalogue.service_view(found.item, lang, region), "score": found.score} for found in results
            ],
        }
    )


@catalogue_routes.get("/services/<service_id:str>")
async def get_service(request: Request, service_id: str) -> HTTPResponse:
    catalogue = _catalogue(request)
    item = catalogue.items.get(service_id) if ITEM_ID.match(service_id) else None
    if item is None:
        raise ApiError(404, "service_not_found", "No service item has that id.")
    region = region_param(request, catalogue)
    return json(catalogue.service_view(item, lang_param(request), region))


@catalogue_routes.get("/regions")
async def list_regions(request: Request) -> HTTPResponse:
    catalogue = _catalogue(request)
    parent = text_param(request, "parent", required=False)
    if parent:
        if catalogue.regions.get(parent) is None:
            raise ApiError(400, "unknown_region", "Parameter 'parent' must be a known 6-digit region code.")
        return json([region.as_dict() for region in catalogue.regions.children(parent)])
    query = text_param(request, "q", required=False)
    if not query:
        return json([region.as_dict() for region in catalogue.regions if region.tier == "province"])
    limit = limit_param(request, default=20)
    return json([region.as_dict() for region in catalogue.regions.search(query, limit)])
