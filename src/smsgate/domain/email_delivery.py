"""E-mail delivery (type 8, issue 9): what the sending path, the e-mail channel and the open-tracking
pixel agree on. Pure.

- Attachments of a ``mail=1`` send are stored once per request and named from every message's
  options by ``ATTACHMENTS_OPTION``: their ids, comma-separated (``"att": "12,13"``).
- An HTML mail (protocols.md §1.1: ``mes`` contains ``<html``) carries an open-tracking pixel whose
  token is the message id and an HMAC of it under a secret the nodes share, so that nobody can make up
  the token of another message (of another account) and mark it read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

ATTACHMENTS_OPTION = "att"
SUBJECT_OPTION = "subj"
_TAG_BYTES = 16
_TOKEN = re.compile(r"^([1-9][0-9]{0,18})\.([a-z2-7]{26})$")


@dataclass(frozen=True, slots=True)
class MailAttachment:
    """A file attached to a mail: its name as the client gave it, its MIME type and its octets."""

    filename: str
    content_type: str
    data: bytes


def is_html(text: str) -> bool:
    """A mail body is sent as text/html when it contains ``<html`` (any case), else text/plain."""
    return "<html" in text.lower()


def format_attachment_ids(ids: Sequence[int]) -> str:
    return ",".join(str(i) for i in ids)


def mail_options(options: str | None) -> dict[str, str]:
    """A message's options (a JSON object of strings) as a dict; anything else reads as empty."""
    if not options:
        return {}
    try:
        decoded = json.loads(options)
    except ValueError:
        return {}
    if not isinstance(decoded, dict):
        return {}
    return {str(k): v for k, v in decoded.items() if isinstance(v, str)}


def attachment_ids(options: dict[str, str]) -> list[int]:
    """The attachment ids named by a message's options (malformed entries are skipped)."""
    raw = options.get(ATTACHMENTS_OPTION, "")
    return [int(part) for part in raw.split(",") if part.strip().isdigit()]


def open_token(secret: bytes, message_id: int) -> str:
    """The open-tracking token of ``message_id``: ``<id>.<HMAC-SHA256 tag, 128 bits, base32>``."""
    return f"{message_id}.{_tag(secret, message_id)}"


def opened_message(secret: bytes, token: str) -> int | None:
    """The message id a token names, or None when the token is malformed or its tag is wrong."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    message_id = int(match.group(1))
    if not hmac.compare_digest(match.group(2), _tag(secret, message_id)):
        return None
    return message_id


def _tag(secret: bytes, message_id: int) -> str:
    digest = hmac.new(secret, f"smsgate-open/{message_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:_TAG_BYTES]).decode("ascii").rstrip("=").lower()
