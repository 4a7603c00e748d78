"""``GET /l/<code>``: a tracked short link (issue 7, services/short_links.py).

A known code is counted and answered with ``302 Found`` to the original URL (``no-store``, so every
click reaches us; ``no-referrer``, so the destination does not learn the code). An unknown or
malformed code gets a small 404 page, never a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from smsgate.errors import StorageError
from smsgate.services.short_links import LinkService

NOT_FOUND_PAGE = (
    '<!doctype html><html><head><meta charset="utf-8"><title>Link not found</title></head>'
    "<body><h1>Link not found</h1><p>This short link does not exist.</p></body></html>"
)
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def link_endpoint(links: LinkService) -> Callable[[Request], Awaitable[Response]]:
    async def follow(request: Request) -> Response:
        code = str(request.path_params.get("code", ""))
        try:
            url = await links.click(code)
        except StorageError:
            return PlainTextResponse(
                "temporarily unavailable", status_code=503, headers={"Retry-After": "5"}
            )
        if url is None:
            return HTMLResponse(NOT_FOUND_PAGE, status_code=404, headers=_HEADERS)
        return RedirectResponse(url, status_code=302, headers=_HEADERS)

    return follow
