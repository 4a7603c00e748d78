"""The callback client's HTTP/1.1 request builder and its adapter over httptools' response parser
(RFC 9112), sans I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.protocols.http1 import (
    MAX_HEAD,
    HttpProtocolError,
    Response,
    ResponseParser,
    request_bytes,
)

SIMPLE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nRetry-After: 30\r\n\r\nok"


def parse(data: bytes, *, chunk: int | None = None, eof: bool = False, **kw: int) -> Response:
    parser = ResponseParser(**kw)
    pieces = [data] if chunk is None else [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for piece in pieces:
        response = parser.feed(piece)
        if response is not None:
            return response
    assert eof, "the response did not complete"
    return parser.eof()


def test_request_bytes() -> None:
    request = request_bytes("POST", "/hook?a=1", "example.com:8080", [("X-A", "b")], b"body")
    assert request == (
        b"POST /hook?a=1 HTTP/1.1\r\nHost: example.com:8080\r\nX-A: b\r\n"
        b"Content-Length: 4\r\n\r\nbody"
    )


@pytest.mark.parametrize(
    ("target", "headers"),
    [("/a b", []), ("/a\r\nX: 1", []), ("/", [("X-A", "v\r\nInjected: 1")]), ("/", [("X", "\0")])],
)
def test_request_refuses_header_injection(target: str, headers: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError, match="CR, LF"):
        request_bytes("POST", target, "h", headers, b"")


@pytest.mark.parametrize("chunk", [None, 1, 3, 7])
def test_content_length_in_any_chunking(chunk: int | None) -> None:
    response = parse(SIMPLE, chunk=chunk)
    assert (response.status, response.body, response.keep_alive) == (200, b"ok", True)
    assert response.header("retry-after") == "30"
    assert response.header("content-length") == "2"
    assert response.header("x-missing") is None


def test_chunked_body_with_extension_and_trailer() -> None:
    data = (
        b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4;ext=1\r\nnot \r\n3\r\nnow\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    for chunk in (None, 1, 5):
        response = parse(data, chunk=chunk)
        assert (response.status, response.body, response.keep_alive) == (503, b"not now", True)


def test_body_beyond_keep_is_read_and_dropped() -> None:
    body = b"x" * 5000
    data = b"HTTP/1.1 500 X\r\nContent-Length: 5000\r\n\r\n" + body
    response = parse(data, chunk=1000, keep=10)
    assert (response.body, response.keep_alive) == (b"x" * 10, True)


def test_body_beyond_max_body_ends_the_connection() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000
    response = parse(data, chunk=4096, keep=5, max_body=10000)
    assert (response.status, response.body, response.keep_alive) == (200, b"xxxxx", False)


def test_body_until_close() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfine"
    response = parse(data, eof=True)
    assert (response.body, response.keep_alive) == (b"fine", False)


def test_interim_responses_are_skipped_and_no_body_statuses() -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"
    response = parse(data)
    assert (response.status, response.body, response.keep_alive) == (204, b"", True)


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\nContent-Length: 0\n\n", True),  # bare line feeds
        (b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", True),  # no reason phrase
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", True),
        (
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            True,
        ),
    ],
)
def test_keep_alive_rules(head: bytes, keep_alive: bool) -> None:
    assert parse(head).keep_alive is keep_alive


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X: " + b"a" * 70000 + b"\r\n\r\n",
        b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",  # llhttp reads it; we do not
        b"HTTP/1.1 200\r\nContent-Length: 0, 0\r\n\r\n",  # RFC 9110 §8.6 lets us refuse it
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
    ],
)
def test_malformed_responses(data: bytes) -> None:
    with pytest.raises(HttpProtocolError):
        parse(data)


def test_connection_closed_early() -> None:
    parser = ResponseParser()
    with pytest.raises(HttpProtocolError, match="before any response"):
        parser.eof()
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab") is None
    assert parser.started
    with pytest.raises(HttpProtocolError, match="middle"):
        parser.eof()


def test_one_parser_reads_the_responses_of_a_kept_alive_connection() -> None:
    parser = ResponseParser()
    first = parser.feed(SIMPLE)
    assert first is not None and first.keep_alive
    assert parser.feed(b"HTTP/1.1 503 No\r\nContent-Le") is None
    second = parser.feed(b"ngth: 0\r\nConnection: close\r\n\r\n")
    assert second is not None
    assert (second.status, second.headers, second.keep_alive) == (
        503,
        (("content-length", "0"), ("connection", "close")),
        False,
    )
    with pytest.raises(HttpProtocolError, match="after the end"):
        parser.feed(SIMPLE)


def test_an_idle_kept_alive_connection_closed_is_no_response() -> None:
    parser = ResponseParser()
    assert parser.feed(SIMPLE) is not None
    with pytest.raises(HttpProtocolError, match="before any response"):
        parser.eof()
    assert not parser.started


def test_nothing_is_read_after_a_malformed_response() -> None:
    parser = ResponseParser()
    with pytest.raises(HttpProtocolError):
        parser.feed(b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n")
    with pytest.raises(HttpProtocolError):
        parser.feed(SIMPLE)


def test_head_longer_than_the_limit_over_several_reads() -> None:
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.1 200 OK\r\nX: ") is None
    with pytest.raises(HttpProtocolError, match="64 KiB"):
        for _ in range(MAX_HEAD // 1000 + 1):
            assert parser.feed(b"a" * 1000) is None


def test_bytes_after_a_complete_response_make_it_not_reusable() -> None:
    response = parse(SIMPLE + b"HTTP/1.1 200 OK\r\n")
    assert (response.status, response.body, response.keep_alive) == (200, b"ok", False)


def test_header_values_lose_surrounding_whitespace_and_trailers_are_dropped() -> None:
    data = (
        b"HTTP/1.1 429 Slow\r\nRetry-After:  30 \t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\nRetry-After: 99\r\n\r\n"
    )
    response = parse(data)
    assert response.headers == (("retry-after", "30"), ("transfer-encoding", "chunked"))


def test_a_close_delimited_body_ends_once_keep_octets_are_in() -> None:
    parser = ResponseParser(keep=4)
    response = parser.feed(b"HTTP/1.1 500 X\r\nTransfer-Encoding: gzip\r\n\r\nabcdef")
    assert response is not None
    assert (response.body, response.keep_alive) == (b"abcd", False)


def test_the_connection_closed_in_a_chunked_or_length_body() -> None:
    for data in (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n",
    ):
        parser = ResponseParser()
        assert parser.feed(data) is None
        with pytest.raises(HttpProtocolError, match="middle"):
            parser.eof()


# Valid beginnings take the arbitrary bytes deeper into the parser than a status line.
PREFIXES = [
    b"",
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
]


@given(
    st.sampled_from(PREFIXES),
    st.binary(max_size=300),
    st.integers(min_value=1, max_value=50),
)
def test_arbitrary_bytes_raise_only_protocol_errors(
    prefix: bytes, noise: bytes, chunk: int
) -> None:
    data = prefix + noise
    parser = ResponseParser()
    try:
        for i in range(0, len(data), chunk):
            if parser.feed(data[i : i + chunk]) is not None:
                return
        parser.eof()
    except HttpProtocolError:
        pass


@given(
    st.integers(min_value=200, max_value=599),
    st.binary(max_size=500),
    st.booleans(),
    st.integers(min_value=1, max_value=64),
)
def test_framed_bodies_round_trip(status: int, body: bytes, chunked: bool, chunk: int) -> None:
    if chunked:
        framed = b"Transfer-Encoding: chunked\r\n\r\n"
        framed += b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:7], body[7:]) if p)
        framed += b"0\r\n\r\n"
    else:
        framed = b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    response = parse(b"HTTP/1.1 %d X\r\n" % status + framed, chunk=chunk, keep=1000)
    if status in (204, 304):
        # No body: what follows the head is stray, and keep_alive depends on whether it came in
        # the same read as the head (test_bytes_after_a_complete_response_make_it_not_reusable).
        assert (response.status, response.body) == (status, b"")
    else:
        assert (response.status, response.body, response.keep_alive) == (status, body, True)
