"""downloads.php (http-api.md §13): deferred export tasks of sent messages.

Commands (exactly one per request): ``get_list=1`` (``cnt``, ``after_id``), ``get_file=1`` (``id``
or ``name``), and the smsgate additions ``add=1`` and ``cancel=1``. Errors (codes.md §1.2): 1
parameters (a bad date is a parameters error here: 5 means "file not available" on this endpoint),
2 and 4 from the pipeline, 5 unknown task or no file, 9 a fourth identical ``get_list``/``get_file``
within a minute (``limits.download_identical``), the 15th concurrent request of a login (the
pipeline's slots), or more than ``exports.max_queued`` tasks waiting.
"""

from __future__ import annotations

from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.exports import ExportRequestError, parse_filters, parse_task_name
from smsgate.domain.smsc_time import format_date
from smsgate.errors import RequestError
from smsgate.ingress.http.compat.attachment import AttachmentReply
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.formats import CreatedReply, ListReply, OkReply, Record, Reply
from smsgate.ingress.http.params import CHARSETS, Params
from smsgate.store.repos.exports import ExportTask

COMMANDS = ("get_list", "get_file", "add", "cancel")
MAX_CNT = 1000
DEFAULT_CNT = 100
_MAX_ID = 2**31 - 1


async def handle(ctx: CompatContext) -> Reply:
    command = _command(ctx.params)
    if command == "get_list":
        return await _get_list(ctx)
    if command == "get_file":
        return await _get_file(ctx)
    if command == "add":
        return await _add(ctx)
    return await _cancel(ctx)


def _command(params: Params) -> str:
    given = [name for name in COMMANDS if params.get(name).strip() not in ("", "0")]
    if len(given) != 1 or params.get(given[0]).strip() != "1":
        raise _parameters_error("give exactly one of get_list=1, get_file=1, add=1, cancel=1")
    return given[0]


async def _get_list(ctx: CompatContext) -> Reply:
    cnt = _number(ctx.params.get("cnt"), "cnt", DEFAULT_CNT, low=1, high=MAX_CNT)
    after_id = _number(ctx.params.get("after_id"), "after_id", 0, low=0, high=_MAX_ID)
    await ctx.limit(ctx.services.settings.limits.download_identical)
    tasks = await ctx.services.exports.list(ctx.account.id, after_id=after_id, limit=cnt)
    tz = ctx.account.tz_minutes
    return ListReply([task_record(task, tz) for task in tasks], item="task")


def task_record(task: ExportTask, tz_minutes: int) -> Record:
    """id, name, status, created, time, file (http-api.md §13); empty time and file until known."""
    return [
        ("id", task.id),
        ("name", task.name),
        ("status", task.status),
        ("created", format_date(task.created_at, tz_minutes)),
        ("time", format_date(task.started_at, tz_minutes) if task.started_at else None),
        ("file", task.file_name),
    ]


async def _get_file(ctx: CompatContext) -> Reply:
    task_id, name = _task_id(ctx.params, required=False), ctx.params.get("name").strip()
    if task_id is None and not name:
        raise _parameters_error("id or name is required")
    await ctx.limit(ctx.services.settings.limits.download_identical)
    exports = ctx.services.exports
    if task_id is not None:
        file = await exports.open_file(ctx.account.id, task_id=task_id)
    else:
        file = await exports.open_file(ctx.account.id, name=name)
    # The file is sent in the charset it was made in unless this request names another.
    requested = ctx.params.get("charset").strip().lower()
    return AttachmentReply(file, CHARSETS.get(requested) if requested else None)


async def _add(ctx: CompatContext) -> Reply:
    params = ctx.params
    try:
        name = parse_task_name(params.get("name"))
        filters = parse_filters(
            params.get("start"),
            params.get("end"),
            params.get("phone"),
            params.get("status"),
            params.get("type"),
            ctx.account.tz_minutes,
        )
    except ExportRequestError as exc:
        raise _parameters_error(str(exc)) from None
    task = await ctx.services.exports.add(ctx.account.id, name, filters, params.response_charset)
    return CreatedReply(task.id)


async def _cancel(ctx: CompatContext) -> Reply:
    task_id = _task_id(ctx.params, required=True)
    assert task_id is not None
    await ctx.services.exports.cancel(ctx.account.id, task_id)
    return OkReply()


def _task_id(params: Params, *, required: bool) -> int | None:
    text = params.get("id").strip()
    if not text:
        if required:
            raise _parameters_error("id is required")
        return None
    return _number(text, "id", 0, low=1, high=_MAX_ID)


def _number(text: str, name: str, default: int, *, low: int, high: int) -> int:
    value = text.strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise _parameters_error(f"{name} must be a whole number {low}..{high}")
    return int(value)


def _parameters_error(detail: str) -> RequestError:
    return RequestError(RequestErrorCode.PARAMETERS, detail)
