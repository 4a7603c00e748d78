"""ping.php — event notifications to a monitoring task group (http-api.md §12).

``ping.php?id=<task group>[&name=&host=&info=&ok=0|1]`` → OK. Errors: 1 (bad ``id`` or ``ok``),
3 (no such group of this account), and those of sending (http-api.md §2).
"""

from __future__ import annotations

from smsgate.domain.codes import RequestErrorCode
from smsgate.errors import RequestError
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.formats import OkReply, Reply
from smsgate.services.monitoring import Ping

MAX_GROUP_ID = 2_147_483_647


async def handle(ctx: CompatContext) -> Reply:
    params = ctx.params.values
    group_id = params.get("id", "").strip()
    if not group_id.isdigit() or not 0 < int(group_id) <= MAX_GROUP_ID:
        raise RequestError(RequestErrorCode.PARAMETERS, "id must name a task group")
    ok = params.get("ok", "").strip()
    if ok not in ("", "0", "1"):
        raise RequestError(RequestErrorCode.PARAMETERS, "ok must be 0 or 1")
    ping = Ping(
        group_id=int(group_id),
        ok=ok == "1",
        name=params.get("name", "").strip(),
        host=params.get("host", "").strip(),
        info=params.get("info", "").strip(),
    )
    await ctx.services.monitoring.ping(ctx.account, ping)
    return OkReply()
