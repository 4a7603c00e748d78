"""``GET /t/<token>.gif``: the open-tracking pixel of HTML mails (issue 9, services/email_opens.py).

Always answers the same transparent 1×1 GIF, uncacheable, whether or not the token was valid: a mail
client shows no broken image, and the answer tells a prober nothing.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from smsgate.errors import StorageError
from smsgate.services.email_opens import EmailOpenService

log = logging.getLogger(__name__)

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
MAX_TOKEN = 64


def pixel_endpoint(opens: EmailOpenService) -> Callable[[Request], Awaitable[Response]]:
    async def pixel(request: Request) -> Response:
        token = str(request.path_params.get("token", ""))
        try:
            if len(token) <= MAX_TOKEN:
                await opens.opened(token)
        except StorageError:  # the opening is lost, the mail client still gets its image
            log.exception("recording an e-mail opening failed")
        return Response(
            PIXEL,
            media_type="image/gif",
            headers={"Cache-Control": "no-store, no-cache, must-revalidate", "Pragma": "no-cache"},
        )

    return pixel
