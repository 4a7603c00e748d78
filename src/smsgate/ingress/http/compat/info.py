"""info.php ``get_operator`` (http-api.md §11): country, operator, region, MCC/MNC of numbers.

``phone`` is one number (a single record: the JSON object, ``<result>`` in XML, one line in text) or
a list of at most 100 (the List layout; a comma makes a list). Numbers that do not resolve are left
out; when none resolves: error 3 ``operator not found``. Errors 1, 2, 4, and 9 for the 4th identical
or 101st request of the login within 60 s (``limits.operator_identical``, ``limits.operator_any``).
"""

from __future__ import annotations

from smsgate.clock import utc_datetime
from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.numbering import NumberInfo
from smsgate.domain.phones import PhoneFormatError, normalise, split_list
from smsgate.errors import RequestError
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.formats import ListReply, Record, RecordReply, Reply
from smsgate.services.contacts import parameters_error

MAX_PHONES = 100
_ANY_FINGERPRINT = "info.php"  # every info.php request of a login counts toward one limit
_NOT_FOUND = "operator not found"  # codes.md §1.2, info.php error 3


def operator_record(info: NumberInfo) -> Record:
    """The fields of http-api.md §11, in order."""
    return [
        ("phone", info.phone),
        ("country", info.country),
        ("operator", info.operator),
        ("operator_orig", info.operator_orig),
        ("region", info.region),
        ("mcc", info.mcc),
        ("mnc", info.mnc),
        ("tz", info.tz),
    ]


async def handle(ctx: CompatContext) -> Reply:
    if ctx.params.get("get_operator").strip() in ("", "0"):
        raise parameters_error("get_operator=1 is required")
    text = ctx.params.get("phone")
    items = list(split_list(text))
    if not items or len(items) > MAX_PHONES:
        raise parameters_error(f"phone must list 1..{MAX_PHONES} numbers")
    limits = ctx.services.settings.limits
    await ctx.limit(limits.operator_any, fingerprint=_ANY_FINGERPRINT)
    await ctx.limit(limits.operator_identical)
    plan = await ctx.services.numbering.plan()
    now = utc_datetime(ctx.services.clock.now())
    found: list[NumberInfo] = []
    for item in items:
        try:
            number = normalise(item)
        except PhoneFormatError:
            continue
        # A number the plan rejects (status 22 at sending) has no operator to report.
        info = plan.lookup(number, at=now) if plan.is_valid(number) else None
        if info is not None:
            found.append(info)
    if not found:
        raise RequestError(RequestErrorCode.NO_MONEY, "no number resolved", description=_NOT_FOUND)
    if len(items) == 1 and "," not in text:
        return RecordReply(operator_record(found[0]))
    return ListReply([operator_record(info) for info in found])
