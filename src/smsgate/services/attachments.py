"""Attachments of e-mail sends (issue 9, http-api.md §2.1 ``mail=1``): files of a multipart send.php
request or fetched from its ``fileurl``, stored durably before the messages that name them
(domain/email_delivery.py).

A request's files are checked here: each must be non-empty, with a file name (≤ 255 characters, no
path) and a MIME type of the form ``type/subtype`` (anything else is sent as
application/octet-stream); their total size is at most ``email.max_attachments`` octets. A
violation is request error 1.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.email_delivery import MailAttachment
from smsgate.errors import FileUnavailable, RequestError
from smsgate.store.db import Database
from smsgate.store.repos import attachments as repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.writer import GroupCommitWriter

MAX_FILENAME = 255
_MIME_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$")
OCTET_STREAM = "application/octet-stream"


def checked(files: Sequence[MailAttachment], max_bytes: int) -> list[MailAttachment]:
    """``files`` with safe names and types; RequestError (error 1) for unacceptable ones."""
    if sum(len(f.data) for f in files) > max_bytes:
        raise RequestError(RequestErrorCode.PARAMETERS, f"attachments exceed {max_bytes} octets")
    result = []
    for file in files:
        # Browsers may send a path; only its last component is the name.
        name = re.split(r"[\\/]", file.filename)[-1]
        name = "".join(c for c in name if c.isprintable()).strip()
        if not name or len(name) > MAX_FILENAME:
            raise RequestError(RequestErrorCode.PARAMETERS, "attachment without a valid file name")
        if not file.data:
            raise RequestError(RequestErrorCode.PARAMETERS, f"attachment {name!r} is empty")
        content_type = file.content_type.strip().lower()
        if not _MIME_TYPE.match(content_type):
            content_type = OCTET_STREAM
        result.append(MailAttachment(name, content_type, file.data))
    return result


FileFetcher = Callable[[str], Awaitable[MailAttachment]]
"""Fetches the file at a URL; raises FileUnavailable (``channels/file_fetch.py`` is the one)."""


class AttachmentService:
    def __init__(
        self,
        db: Database,
        writer: GroupCommitWriter,
        clock: Clock,
        *,
        max_bytes: int,
        fetch: FileFetcher | None = None,
    ) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock
        self._fetch = fetch
        self.max_bytes = max_bytes

    async def fetch(self, url: str) -> MailAttachment:
        """The file at ``url`` (send.php ``fileurl``); RequestError (error 1) when it cannot be had:
        unreachable, not 2xx, under 101 octets or over the attachment limit."""
        if self._fetch is None:
            raise RequestError(RequestErrorCode.PARAMETERS, "fileurl cannot be fetched here")
        try:
            return await self._fetch(url)
        except FileUnavailable as exc:
            raise RequestError(RequestErrorCode.PARAMETERS, str(exc)) from exc

    async def store(self, account: AccountRecord, files: Sequence[MailAttachment]) -> list[int]:
        """Check and store ``files`` of ``account``'s request; their ids, committed."""
        accepted = checked(files, self.max_bytes)
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> list[int]:
            return await repo.add(conn, account.id, accepted, now)

        return await self._writer.submit(op)

    async def load(self, ids: Sequence[int]) -> list[MailAttachment]:
        """The files with ``ids`` in that order (missing ones left out); for the e-mail channel."""
        async with self._db.read() as conn:
            return await repo.load(conn, ids)
