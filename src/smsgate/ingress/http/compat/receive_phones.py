"""receive_phones.php: inbound numbers to rent (http-api.md §12, codes.md §5.4).

``get=1`` lists the free numbers and the caller's own (List: ``phone``, ``cost`` a month,
``country``, ``status`` 0 free / 1 yours, ``till``, ``noprolong``); numbers other accounts rent
are not shown. ``buy=1&phone=`` rents a free number for the rest of the month, pro rata (error 3
without money, 5 when the number is not free); ``chg=1&phone=&noprolong=0|1`` switches renewal of
one's own number (error 5 for any other number).
"""

from __future__ import annotations

from collections.abc import Mapping

from smsgate.domain.smsc_time import format_date
from smsgate.ingress.http.compat.args import command, parameters_error, required
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.formats import ListReply, OkReply, Record, Reply

COMMANDS = ("get", "buy", "chg")


def _noprolong(params: Mapping[str, str], *, required_here: bool) -> bool | None:
    value = params.get("noprolong", "").strip()
    if not value:
        if required_here:
            raise parameters_error("noprolong must be 0 or 1")
        return None
    if value not in ("0", "1"):
        raise parameters_error("noprolong must be 0 or 1")
    return value == "1"


async def handle(ctx: CompatContext) -> Reply:
    params = ctx.params.values
    name = command(params, COMMANDS)
    numbers = ctx.services.inbound_numbers
    if name == "get":
        return await _list(ctx)
    phone = required(params, "phone")
    if name == "buy":
        await numbers.buy(ctx.account, phone, noprolong=_noprolong(params, required_here=False))
    else:
        noprolong = _noprolong(params, required_here=True)
        assert noprolong is not None
        await numbers.set_noprolong(ctx.account, phone, noprolong)
    return OkReply()


async def _list(ctx: CompatContext) -> Reply:
    tz = ctx.account.tz_minutes
    records: list[Record] = []
    for number in await ctx.services.inbound_numbers.visible(ctx.account):
        mine = number.account_id == ctx.account.id
        records.append(
            [
                ("phone", number.phone),
                ("cost", number.cost),
                ("country", number.country),
                ("status", 1 if mine else 0),
                ("till", format_date(number.paid_till, tz) if mine and number.paid_till else ""),
                ("noprolong", int(number.noprolong) if mine else 0),
            ]
        )
    return ListReply(records)
