"""Files named by URL: send.php's ``fileurl`` (http-api.md §2.1), fetched when the request arrives.

"File fetched and attached (mms, mail, call audio); files under 101 bytes or unreachable → error 1."
Fetching a URL a client chose is a request made from inside the platform on its behalf, so it is
guarded as callbacks are (``webhook.AddressGuard``: loopback, link-local and private addresses are
refused unless ``email.fileurl_allow_private_networks``, checked on the address actually connected
to): one GET, no redirects, no proxy, a connect and a whole-request timeout, and at most
``max_bytes`` octets read. What cannot be had raises :class:`FileUnavailable` with the reason: no
answer, a status other than 2xx, fewer than :data:`MIN_BYTES` octets, or more than ``max_bytes``.

The file's name is the ``filename`` of a Content-Disposition header, else the last segment of the
URL's path, else "file"; its type is the Content-Type without parameters.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from smsgate.channels.http_client import HttpClientError, KeepAliveClient, ssl_context
from smsgate.channels.webhook import AddressGuard
from smsgate.domain.email_delivery import MailAttachment
from smsgate.errors import FileUnavailable

MIN_BYTES = 101
OCTET_STREAM = "application/octet-stream"
_DISPOSITION_NAME = re.compile(r"""filename\s*=\s*(?:"([^"]*)"|([^;\s]+))""", re.IGNORECASE)


async def fetch_file(
    url: str,
    *,
    max_bytes: int,
    timeout_s: float,
    allow_private_networks: bool,
    user_agent: str = "smsgate",
) -> MailAttachment:
    """The file at ``url``; FileUnavailable when there is none to attach (module docstring)."""
    client = KeepAliveClient(
        AddressGuard(allow_private_networks=allow_private_networks),
        ssl_context(),
        connect_timeout_s=timeout_s,
        timeout_s=timeout_s,
        idle_per_origin=0,
        keep=max_bytes + 1,
        max_body=max_bytes + 1,
    )
    async with client:
        try:
            response = await client.get(url, (("User-Agent", user_agent), ("Accept", "*/*")))
        except HttpClientError as exc:
            raise FileUnavailable(f"{url} cannot be fetched: {exc}") from exc
    if not 200 <= response.status < 300:
        raise FileUnavailable(f"{url} answered HTTP {response.status}")
    if len(response.body) > max_bytes:
        raise FileUnavailable(f"{url} is larger than {max_bytes} octets")
    if len(response.body) < MIN_BYTES:
        raise FileUnavailable(f"{url} has fewer than {MIN_BYTES} octets")
    content_type = (response.header("content-type") or "").split(";", 1)[0].strip()
    return MailAttachment(
        _file_name(url, response.header("content-disposition")),
        content_type or OCTET_STREAM,
        response.body,
    )


def _file_name(url: str, disposition: str | None) -> str:
    if disposition:
        match = _DISPOSITION_NAME.search(disposition)
        if match:
            name = (match.group(1) or match.group(2) or "").strip()
            if name:
                return name
    segment = unquote(urlsplit(url).path.rsplit("/", 1)[-1]).strip()
    return segment or "file"
