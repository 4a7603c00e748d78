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
from smsgate.ingress.http.links import link_endpoint
from smsgate.ingress.http.providers import incoming_call_endpoint
from smsgate.ingress.http.tracking import pixel_endpoint
from smsgate.services.container import Services

ListenerStatus = Callable[[], Mapping[str, bool]]
HEALTH_PING_INTERVAL_S = 1.0


def build_http_app(services: Services, listeners: ListenerStatus) -> Starlette:
    """The HTTP application for ``services``; ``listeners`` reports which listeners are up."""
    compat = CompatApi(services, endpoints())
    # The database is pinged at most once a second, so that /health stays cheap under load (it is
    # the ceiling the benchmarks compare against) while still reporting an outage within a second.
    last_ping: list[tuple[float, bool]] = []

    async def database_up() -> bool:
        now = services.clock.monotonic()
        if last_ping and now - last_ping[0][0] < HEALTH_PING_INTERVAL_S:
            return last_ping[0][1]
        up = await services.db.ping()
        last_ping[:] = [(now, up)]
        return up

    async def health(_request: Request) -> Response:
        database = await database_up()
        body = {
            "status": "ok" if database else "degraded",
            "version": smsgate.__version__,
            "database": database,
            # Which node answered: behind a load balancer, or among the workers of one machine.
            "node": services.guards.node_id,
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
        # Open tracking of HTML mails (issue 9).
        Route("/t/{token}.gif", pixel_endpoint(services.email_opens), methods=["GET"]),
        # Short links and incoming-call events (issue 7: tinyurls.php, wait_call.php).
        Route("/l/{code}", link_endpoint(services.links), methods=["GET"]),
        Route(
            "/providers/calls/incoming",
            incoming_call_endpoint(services.wait_calls),
            methods=["POST"],
        ),
    ]
    return Starlette(routes=routes)
