"""tinyurls.php ``get=1`` (http-api.md §11): a short-link record of the account and its clicks.

The record is named by ``id`` or by ``link``: one of the account's short links (the record's own
``<base>/l/<code>`` or any recipient's, or just the code) or the original URL. Another account's
record is "link not found" (3), the same answer as one that does not exist. Fields: ``id``,
``link`` (the record's own short link), ``url``, ``cnt`` (all clicks), ``cnt_mon`` (this calendar
month), ``cnt_day`` (today), ``cnt_yes`` (yesterday; days in the account's zone), ``created``.
Errors 1, 2, 3, 4, 9.
"""

from __future__ import annotations

from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.smsc_time import format_date
from smsgate.errors import RequestError
from smsgate.ingress.http.compat.args import command, int_param, parameters_error
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.formats import RecordReply, Reply

MAX_ID = 2**63 - 1
MAX_LINK = 8192
_NOT_FOUND = "link not found"  # codes.md §1.2, tinyurls.php error 3


async def handle(ctx: CompatContext) -> Reply:
    params = ctx.params.values
    command(params, ("get",))
    link_id = int_param(params, "id", 1, MAX_ID)
    link = params.get("link", "").strip()
    if link_id is None and not link:
        raise parameters_error("link or id is required")
    if len(link) > MAX_LINK:
        raise parameters_error("link is too long")
    account = ctx.account
    found = await ctx.services.links.report(
        account.id, account.tz_minutes, link_id=link_id, link=link
    )
    if found is None:
        raise RequestError(RequestErrorCode.NO_MONEY, "no such link", description=_NOT_FOUND)
    record, counts = found.record, found.counters
    return RecordReply(
        [
            ("id", record.id),
            ("link", found.link),
            ("url", record.url),
            ("cnt", counts.total),
            ("cnt_mon", counts.month),
            ("cnt_day", counts.today),
            ("cnt_yes", counts.yesterday),
            ("created", format_date(record.created_at, account.tz_minutes)),
        ]
    )
