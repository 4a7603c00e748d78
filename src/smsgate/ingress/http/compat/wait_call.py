"""wait_call.php (http-api.md §12): the number a subscriber must call to confirm, and the wait's id.

``phone`` is the subscriber's number (one number; normalised as send.php does and checked against
the numbering plan, else error 7). Answer: fmt 0 ``phone = <number>, id = <id>``, fmt 1
``<number>,<id>``, fmt 2 ``<result><phone/><id/></result>``, fmt 3 ``{"phone": "<number>", "id":
<id>}``. A call from the subscriber to that number within ``wait_call.ttl`` produces a
call-confirmation callback (services/wait_calls.py). Errors 1 (no ``phone``, or no numbers are
configured), 2, 4, 7, 9 (every number of the pool is taken for this subscriber, or a request limit).
"""

from __future__ import annotations

from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.phones import PhoneFormatError, normalise
from smsgate.errors import RequestError
from smsgate.ingress.http.compat.args import parameters_error
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.formats import RecordReply, Reply

MAX_PHONE = 64


async def handle(ctx: CompatContext) -> Reply:
    raw = ctx.params.get("phone").strip()
    if not raw:
        raise parameters_error("phone is required")
    waits = ctx.services.wait_calls
    if not waits.numbers:
        raise parameters_error("call confirmation is not configured (wait_call.numbers)")
    if len(raw) > MAX_PHONE:
        raise RequestError(RequestErrorCode.INVALID_PHONE, "phone too long")
    try:
        phone = normalise(raw)
    except PhoneFormatError:
        raise RequestError(RequestErrorCode.INVALID_PHONE, "invalid phone") from None
    plan = await ctx.services.numbering.plan()
    if not plan.is_valid(phone):
        raise RequestError(RequestErrorCode.INVALID_PHONE, "number not in the numbering plan")
    answer = await waits.wait(ctx.account, phone)
    if answer is None:
        raise RequestError(
            RequestErrorCode.TOO_MANY, "every confirmation number is taken for this subscriber"
        )
    return RecordReply([("phone", answer.number), ("id", answer.wait_id)])
