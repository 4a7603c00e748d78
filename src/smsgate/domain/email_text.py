"""The text of an e-mail as the SMTP ingress reads it (protocols.md §2.2).

The mail is MIME-parsed; the text is the first ``text/plain`` part (attachments skipped) after its
transfer encoding (quoted-printable, base64) is undone, decoded with the part's declared charset, and
**koi8-r when none is declared**, as SMSC's e-mail gateway does. Without a ``text/plain`` part the
first ``text/html`` part is used with its tags stripped and entities decoded. When the text holds
``[text]`` … ``[/text]``, only what lies between the first such pair is kept; leading and trailing
whitespace is removed. The Subject is decoded per RFC 2047 (raw 8-bit subjects as UTF-8 when they
are valid UTF-8, else koi8-r).
"""

from __future__ import annotations

import codecs
import email
import re
from dataclasses import dataclass
from email.header import Header, decode_header
from email.message import Message
from html.parser import HTMLParser

from smsgate.domain.codes import RequestErrorCode

DEFAULT_CHARSET = "koi8-r"
_TEXT_OPEN, _TEXT_CLOSE = "[text]", "[/text]"
# Elements whose end (or the element itself, for void ones) breaks a line in the rendered text.
_BLOCKS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table"})
_SKIPPED = frozenset({"script", "style", "head", "title"})
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_WHITESPACE = re.compile(r"\s+")


class MailError(ValueError):
    """A mail the gateway cannot read; ``code`` is the SMSC request error it is refused with."""

    def __init__(self, code: RequestErrorCode, detail: str) -> None:
        super().__init__(f"error {int(code)}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class MailText:
    """What the ingress needs of a mail: its decoded Subject and its text."""

    subject: str
    text: str


def read_mail(message: bytes) -> MailText:
    """Subject and text of a raw RFC 5322 message (see the module docstring)."""
    parsed = email.message_from_bytes(message)
    subject = decode_subject(parsed.get("Subject"))
    plain, html = _first_text_parts(parsed)
    if plain is not None:
        text = _decoded(plain)
    elif html is not None:
        text = strip_html(_decoded(html))
    else:
        text = ""
    # Mail travels with CRLF line ends; a message's text has LF ones (a CRLF would cost a character).
    return MailText(subject=subject, text=unwrap_text(text.replace("\r\n", "\n")))


def unwrap_text(text: str) -> str:
    """The part between the first ``[text]`` and the ``[/text]`` after it, when both are there;
    stripped of surrounding whitespace either way."""
    start = text.find(_TEXT_OPEN)
    if start >= 0:
        end = text.find(_TEXT_CLOSE, start + len(_TEXT_OPEN))
        if end >= 0:
            text = text[start + len(_TEXT_OPEN) : end]
    return text.strip()


def decode_subject(value: str | Header | None) -> str:
    """An RFC 2047 Subject as text; unknown charsets and undecodable octets do not fail."""
    if value is None:
        return ""
    chunks: list[str] = []
    for chunk, charset in decode_header(value):
        if isinstance(chunk, str):
            chunks.append(chunk)
        else:
            chunks.append(_decode_octets(chunk, charset))
    return "".join(chunks).strip()


def strip_html(html: str) -> str:
    """The visible text of an HTML document: tags removed, entities decoded, block ends as line
    breaks, scripts and styles dropped."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = "\n".join(line.strip() for line in "".join(parser.chunks).splitlines())
    return _BLANK_LINES.sub("\n\n", lines).strip()


def _first_text_parts(parsed: Message) -> tuple[Message | None, Message | None]:
    """The first ``text/plain`` and the first ``text/html`` part that are not attachments."""
    plain: Message | None = None
    html: Message | None = None
    for part in parsed.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = part
        elif kind == "text/html" and html is None:
            html = part
    return plain, html


def _decoded(part: Message) -> str:
    """The part's payload with its transfer encoding undone, decoded with its charset."""
    payload = part.get_payload(decode=True)
    octets = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset() or DEFAULT_CHARSET
    try:
        codecs.lookup(charset)
    except LookupError:
        raise MailError(RequestErrorCode.PARAMETERS, f"unknown charset {charset!r}") from None
    try:
        return octets.decode(charset)
    except UnicodeDecodeError:
        raise MailError(RequestErrorCode.PARAMETERS, f"the text is not valid {charset}") from None


def _decode_octets(chunk: bytes, charset: str | None) -> str:
    if charset and charset != "unknown-8bit":
        try:
            return chunk.decode(charset, "replace")
        except LookupError:
            pass
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError:
        return chunk.decode(DEFAULT_CHARSET, "replace")


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag == "br":
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            # Source line breaks and indentation are not text in HTML: runs of white space are one.
            self.chunks.append(_WHITESPACE.sub(" ", data))
