"""The Starlette application: ``/sys/*.php``, ``/health`` and ``/metrics``."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import smsgate
from smsgate.ingress.http.compat import endpoints
from smsgate.ingress.http.compat.pipeline import CompatApi
from smsgate.services.container import Services

ListenerStatus = Callable[[], Mapping[str, bool]]


def build_http_app(services: Services, listeners: ListenerStatus) -> Starlette:
    """The HTTP application for ``services``; ``listeners`` reports which listeners are up."""
    compat = CompatApi(services, endpoints())

    async def health(_request: Request) -> Response:
        database = await services.db.ping()
        body = {
            "status": "ok" if database else "degraded",
            "version": smsgate.__version__,
            "database": database,
            "listeners": dict(listeners()),
        }
        return JSONResponse(body, status_code=200 if database else 503)

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/sys/{cmd}.php", compat.handle, methods=["GET", "POST"]),
        Route("/rest/send/", compat.handle_rest_send, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    return Starlette(routes=routes)
