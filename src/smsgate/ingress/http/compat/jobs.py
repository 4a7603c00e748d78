"""jobs.php (http-api.md §5): mailings.

One action per request: ``add``, ``del``, ``cancel``, ``get``, ``get_all``, and the smsgate addition
``resume`` (docs/decisions.md); none or several are error 1. ``add`` takes every send.php parameter
(``tpl`` included) plus ``name``, ``rpt``, ``rptn``, ``fl[5]``, ``sender2``, ``mes2`` and ``cost``.
Errors (codes.md §1.2): 1 parameters, 2 and 4 from the pipeline, 3 ``record save error`` (a job of
another account is not found), 5 date format (``time``, ``tz``, ``start``, ``end``), 9 a second
identical request within a minute (``limits.jobs_identical``) or the concurrency limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from smsgate.domain.mailings import MailingError, Repeat, parse_name
from smsgate.domain.money import display
from smsgate.domain.smsc_time import format_date
from smsgate.ingress.http.compat.args import date_range, int_param, parameters_error
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.compat.send import parse_request
from smsgate.ingress.http.compat.templates import apply_template
from smsgate.ingress.http.formats import ListReply, OkReply, Record, Reply, to_json, xml_element
from smsgate.services.mailings import NewMailing
from smsgate.store.repos.mailing_jobs import MailingRecord

ACTIONS = ("add", "del", "cancel", "get", "get_all", "resume")
LARGE_PARAMS = frozenset({"phones", "mes", "list", "mes2"})
MAX_ID = 2_147_483_647
MAX_RPTN = 1_000_000
RETRY_FLAG = "fl[5]"


def _action(params: Mapping[str, str]) -> str:
    given = [name for name in ACTIONS if params.get(name, "").strip() not in ("", "0")]
    if len(given) != 1 or params[given[0]].strip() != "1":
        raise parameters_error(f"exactly one of {', '.join(a + '=1' for a in ACTIONS)} is required")
    return given[0]


def _job_id(params: Mapping[str, str]) -> int:
    value = int_param(params, "id", 1, MAX_ID)
    if value is None:
        raise parameters_error("id is required")
    return value


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name, "").strip()
    if value not in ("", "0", "1"):
        raise parameters_error(f"{name} must be 0 or 1")
    return value == "1"


async def _add(ctx: CompatContext) -> Reply:
    params = ctx.params.values
    try:
        name = parse_name(params.get("name", ""))
    except MailingError as exc:
        raise parameters_error(str(exc)) from None
    sending, raw = await apply_template(ctx, params, ctx.params.raw)
    cost = int_param(params, "cost", 0, 3, 0)
    new = NewMailing(
        name=name,
        request=parse_request(sending, raw),
        rpt=Repeat(int_param(params, "rpt", 0, 7, 0) or 0),
        rptn=int_param(params, "rptn", 1, MAX_RPTN),
        retry=_flag(params, RETRY_FLAG),
        sender2=params.get("sender2"),
        mes2=params.get("mes2"),
        test=_flag(params, "test") or _flag(params, "virtsms"),
        estimate=bool(cost),
    )
    service = ctx.services.mailings
    checked = await service.check(ctx.account, new)
    await ctx.limit(ctx.services.settings.limits.jobs_identical)
    return AddedReply(await service.store(checked), checked.cost)


async def _get(ctx: CompatContext) -> Reply:
    job_id = _job_id(ctx.params.values)
    await ctx.limit(ctx.services.settings.limits.jobs_identical)
    job = await ctx.services.mailings.get(ctx.account, job_id)
    return ListReply([job_record(job, ctx.account.tz_minutes)])


async def _get_all(ctx: CompatContext) -> Reply:
    start, end = date_range(ctx.params.values, ctx.account.tz_minutes)
    await ctx.limit(ctx.services.settings.limits.jobs_identical)
    jobs = await ctx.services.mailings.list(ctx.account, start, end)
    return ListReply([job_record(job, ctx.account.tz_minutes) for job in jobs])


async def _change(ctx: CompatContext, action: str) -> Reply:
    job_id = _job_id(ctx.params.values)
    await ctx.limit(ctx.services.settings.limits.jobs_identical)
    service = ctx.services.mailings
    if action == "resume":
        await service.resume(ctx.account, job_id)
    else:
        await service.cancel(ctx.account, job_id, delete=action == "del")
    return OkReply()


def job_record(job: MailingRecord, tz_minutes: int) -> Record:
    """Job fields in the order of http-api.md §5."""
    last_id: int | str | None = job.run_id
    if job.run_id is not None and job.run_id.isdigit():
        last_id = int(job.run_id)
    return [
        ("id", job.id),
        ("name", job.name),
        ("status", job.status),
        ("created", format_date(job.created_at, tz_minutes)),
        ("time", format_date(job.next_run_at, tz_minutes) if job.next_run_at else None),
        ("rpt", job.rpt),
        ("rptn", job.rptn),
        ("type", job.msg_type),
        ("sender", job.sender or ""),
        ("cnt", job.cnt),
        ("cost", job.run_cost),
        ("last_id", last_id),
        ("mes", job.mes),
    ]


@dataclass(frozen=True, slots=True)
class AddedReply:
    """Created, with the estimated cost of one run when ``cost``≥1 (http-api.md §5)."""

    id: int
    cost: Decimal | None

    def render(self, fmt: int) -> str:
        if self.cost is None:
            fields: list[tuple[str, int | str]] = [("id", self.id)]
        else:
            fields = [("id", self.id), ("cost", display(self.cost))]
        if fmt == 1:
            return ",".join(str(v) for _, v in fields)
        if fmt == 2:
            return "<result>" + "".join(xml_element(k, v) for k, v in fields) + "</result>"
        if fmt == 3:
            return to_json(dict(fields))
        text = f"OK, ID - {self.id}"
        return text if self.cost is None else f"{text}, COST - {display(self.cost)}"


async def handle(ctx: CompatContext) -> Reply:
    action = _action(ctx.params.values)
    if action == "add":
        return await _add(ctx)
    if action == "get":
        return await _get(ctx)
    if action == "get_all":
        return await _get_all(ctx)
    return await _change(ctx, action)
