"""A file sent as the reply itself (downloads.php ``get_file``), streamed in chunks.

The pipeline sends an :class:`AttachmentReply` as it is instead of rendering it in a ``fmt``. The file
is already open, so a file removed meanwhile (retention) is still sent whole. When the client asked
for another charset than the file was written in, the stream is re-encoded on the way; characters
the requested charset cannot hold become ``?`` (http-api.md §1.3).
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio.to_thread
from starlette.responses import Response, StreamingResponse

from smsgate.services.exports import ExportFile

CHUNK_BYTES = 64 * 1024


@dataclass(slots=True)
class AttachmentReply:
    file: ExportFile
    # The charset to send in; the file's own when None.
    charset: str | None = None

    def render(self, fmt: int) -> str:  # pragma: no cover - the pipeline sends it as is
        raise TypeError("an attachment is sent as a file, not rendered")

    def response(self) -> Response:
        charset = self.charset or self.file.charset
        headers = {"Content-Disposition": f"attachment; filename={self.file.name}"}
        return StreamingResponse(
            self._chunks(charset), media_type=f"text/csv; charset={charset}", headers=headers
        )

    async def _chunks(self, charset: str) -> AsyncIterator[bytes]:
        stream = self.file.stream
        same = codecs.lookup(charset).name == codecs.lookup(self.file.charset).name
        decoder = codecs.getincrementaldecoder(self.file.charset)(errors="replace")
        encoder = codecs.getincrementalencoder(charset)(errors="replace")
        try:
            while chunk := await anyio.to_thread.run_sync(stream.read, CHUNK_BYTES):
                yield chunk if same else encoder.encode(decoder.decode(chunk))
            if not same:
                yield encoder.encode(decoder.decode(b"", final=True), final=True)
        finally:
            self.file.close()
