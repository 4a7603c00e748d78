"""The request pipeline every ``/sys/*.php`` endpoint shares.

Processing order (http-api.md §1.7): route → decode parameters (1) → IP lockout (4) →
authentication (2) → concurrency (9) → endpoint validation and limits → execution. Every outcome of
the API, errors included, is HTTP 200 with a non-empty body in the request's ``fmt`` and charset;
:meth:`CompatApi.handle` is the one place where exceptions become replies.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from smsgate.config import HttpSettings
from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.logins import is_valid_login
from smsgate.domain.network import IPNetwork, ip_allowed, parse_allow_list
from smsgate.errors import RequestError, StorageError
from smsgate.ingress.http.compat.attachment import AttachmentReply
from smsgate.ingress.http.formats import VALID_FMTS, ErrorReply, Reply, encode
from smsgate.ingress.http.params import (
    CHARSETS,
    DEFAULT_RESPONSE_CHARSET,
    Params,
    RawParams,
    decode_params,
    parse_multipart,
    parse_urlencoded,
)
from smsgate.services.auth import Credentials
from smsgate.services.container import Services
from smsgate.services.guards import request_fingerprint
from smsgate.store.repos.accounts import AccountRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CompatContext:
    """What an endpoint handler gets: decoded parameters and the authenticated account."""

    params: Params
    account: AccountRecord
    ip: str
    path: str
    fmt: int
    services: Services

    async def limit(
        self, limit: int, *, fingerprint: str | None = None, description: str | None = None
    ) -> None:
        """Refuse with error 9 when this request exceeds ``limit`` per window.

        Without ``fingerprint`` the limit counts identical requests (same path and parameters,
        credentials and format ignored); a fixed fingerprint counts every request that shares it.
        """
        key = fingerprint or request_fingerprint(self.path, dict(self.params.values))
        await self.services.guards.check_rate(
            self.account.login, key, limit, description=description
        )


Handler = Callable[[CompatContext], Awaitable[Reply]]
_BodyReader = Callable[[Request, RawParams], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CompatEndpoint:
    handler: Handler
    # Parameters allowed beyond the ordinary length limit (recipient lists, texts).
    large_params: frozenset[str] = frozenset()
    # send.php: consecutive failed requests from one IP lead to a lockout.
    counts_send_failures: bool = False


class CompatApi:
    """The ``/sys/{cmd}.php`` endpoint: routes to a handler through the shared pipeline."""

    def __init__(self, services: Services, endpoints: Mapping[str, CompatEndpoint]) -> None:
        self._services = services
        self._endpoints = dict(endpoints)
        self._http: HttpSettings = services.settings.http
        self._proxies: tuple[IPNetwork, ...] = parse_allow_list(self._http.trusted_proxies)

    async def handle(self, request: Request) -> Response:
        """``/sys/{cmd}.php``: parameters from the query string and a form body."""
        name = request.path_params["cmd"]
        endpoint = self._endpoints.get(name)
        if endpoint is None:
            return PlainTextResponse("Not Found", status_code=404)
        return await self._process(request, name, endpoint, self._read_body, default_fmt=0)

    async def handle_rest_send(self, request: Request) -> Response:
        """``/rest/send/`` (http-api.md §2.11): send.php with a JSON object body, default fmt 3."""
        return await self._process(
            request, "send", self._endpoints["send"], self._read_json_body, default_fmt=3
        )

    async def _process(
        self,
        request: Request,
        name: str,
        endpoint: CompatEndpoint,
        read_body: _BodyReader,
        *,
        default_fmt: int,
    ) -> Response:
        metrics = self._services.metrics
        with metrics.http_latency.labels(name).time():
            fmt, charset = default_fmt, DEFAULT_RESPONSE_CHARSET
            ip = self._client_ip(request)
            raw = RawParams()
            raw.merge(parse_urlencoded(request.scope.get("query_string", b"")))
            slot: list[str] = []  # the request slot taken, released after the reply is sent
            try:
                # The query string alone decides the format of errors found in the body.
                charset = _response_charset(raw)
                fmt = _fmt(raw, default_fmt)
                await read_body(request, raw)
                charset = _response_charset(raw)
                fmt = 0  # an invalid fmt is answered in fmt 0
                fmt = _fmt(raw, default_fmt)
                reply = await self._handle(name, endpoint, raw, ip, fmt, slot)
            except RequestError as exc:
                reply = ErrorReply(int(exc.code), exc.description, exc.request_id)
            except StorageError:
                log.exception("storage unavailable", extra={"endpoint": name})
                unavailable = PlainTextResponse(
                    "temporarily unavailable", status_code=503, headers={"Retry-After": "5"}
                )
                return self._release_after(unavailable, slot)
            if isinstance(reply, AttachmentReply):  # downloads.php get_file (issue 6)
                metrics.http_requests.labels(name, "0").inc()
                return self._release_after(reply.response(), slot)
            outcome = reply.code if isinstance(reply, ErrorReply) else 0
            metrics.http_requests.labels(name, str(outcome)).inc()
            if endpoint.counts_send_failures and outcome not in (0, 4, 9):
                # Successes reset the run inside the send's own transaction (services.sending).
                await self._services.guards.send_outcome(ip, ok=False)
            body, media_type = encode(reply, fmt, charset)
            return self._release_after(Response(body, media_type=media_type), slot)

    def _release_after(self, response: Response, slot: list[str]) -> Response:
        """Free the request slot once the response has been sent, so that the reply does not wait
        for that commit (a client's next request may briefly still see this one in progress)."""
        if slot:
            response.background = BackgroundTask(self._services.guards.release_slot, slot[0])
        return response

    async def _handle(
        self,
        name: str,
        endpoint: CompatEndpoint,
        raw: RawParams,
        ip: str,
        fmt: int,
        slot: list[str],
    ) -> Reply:
        params = decode_params(raw, large=endpoint.large_params)
        login = params.get("login").strip()
        if login and not is_valid_login(login):
            # Quotes, semicolons and the like cannot be part of any login: a malformed parameter.
            raise RequestError(RequestErrorCode.PARAMETERS, "malformed login")
        credentials = Credentials(
            login=login,
            psw=params.get("psw"),
            apikey=params.get("apikey").strip(),
        )
        account = await self._services.auth.authenticate(credentials, ip)
        slot.append(await self._services.guards.acquire_slot(account.login))
        context = CompatContext(
            params=params,
            account=account,
            ip=ip,
            path=f"/sys/{name}.php",
            fmt=fmt,
            services=self._services,
        )
        return await endpoint.handler(context)

    async def _read_body(self, request: Request, raw: RawParams) -> None:
        """Merge the body's parameters into ``raw``; error 1 for bodies over ``http.max_body``."""
        if request.method != "POST":
            return
        body = await self._body(request)
        content_type = request.headers.get("content-type", "")
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type == "multipart/form-data":
            boundary = _boundary(content_type)
            if boundary is None:
                raise RequestError(RequestErrorCode.PARAMETERS, "multipart body without boundary")
            parse_multipart(bytes(body), boundary, raw)
        elif body:
            # Form-encoded, or no/other content type: SMSC clients are not always careful here.
            raw.merge(parse_urlencoded(bytes(body)))

    async def _read_json_body(self, request: Request, raw: RawParams) -> None:
        """A UTF-8 JSON object whose members are send.php parameters (http-api.md §2.11)."""
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if request.method != "POST" or media_type != "application/json":
            raise RequestError(RequestErrorCode.PARAMETERS, "expected a JSON body")
        body = await self._body(request)
        try:
            document = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise RequestError(RequestErrorCode.PARAMETERS, "invalid JSON") from None
        if not isinstance(document, dict):
            raise RequestError(RequestErrorCode.PARAMETERS, "expected a JSON object")
        for name, value in document.items():
            raw.values[str(name)] = _json_param(str(name), value).encode("utf-8")
            raw.part_charsets[str(name)] = "utf-8"

    async def _body(self, request: Request) -> bytes:
        limit = self._http.max_body
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise RequestError(RequestErrorCode.PARAMETERS, "request body too large")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                raise RequestError(RequestErrorCode.PARAMETERS, "request body too large")
        return bytes(body)

    def _client_ip(self, request: Request) -> str:
        peer = request.client.host if request.client else "0.0.0.0"  # noqa: S104 - a value, not a bind
        if not self._proxies or not ip_allowed(peer, self._proxies):
            return peer
        forwarded = [
            hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop
        ]
        for hop in reversed(forwarded):
            if not _valid_ip(hop):
                break
            if not ip_allowed(hop, self._proxies):
                return hop
        return peer


def _response_charset(raw: RawParams) -> str:
    """The reply charset: the request's ``charset`` when valid, else UTF-8 (http-api.md §1.3)."""
    name = raw.values.get("charset", b"").decode("latin-1").strip().lower()
    return CHARSETS.get(name, DEFAULT_RESPONSE_CHARSET)


def _fmt(raw: RawParams, default: int = 0) -> int:
    """``fmt`` 0..3; anything else is error 1, rendered in fmt 0."""
    text = raw.values.get("fmt", b"").decode("latin-1").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) not in VALID_FMTS:
        raise RequestError(RequestErrorCode.PARAMETERS, "fmt must be 0, 1, 2 or 3")
    return int(text)


def _json_param(name: str, value: object) -> str:
    """A JSON member as a send.php parameter value: strings, numbers, booleans (true = 1); ``phones``
    may be an array and ``list`` an object of phone → text."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return ",".join(str(v) for v in value)
    if (
        name == "list"
        and isinstance(value, dict)
        and all(isinstance(v, str) for v in value.values())
    ):
        return "\n".join(f"{phone}:{text}" for phone, text in value.items())
    raise RequestError(RequestErrorCode.PARAMETERS, f"unsupported value for {name!r}")


def _boundary(content_type: str) -> bytes | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip('"').encode("latin-1")
    return None


def _valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
