"""``smsgate simulator smpp``: run the SMSC simulator as a standalone operator (issue 5).

Our connectors and any third-party ESME (smpplib, a load generator) can bind to it. A named behaviour
(``--behaviour``, see ``simulators/behaviour.py``) may be adjusted by the options; ``--port 0`` picks a
free port, printed on the first line as ``listening on HOST:PORT``.

``smsgate simulator call``: play the voice provider and report one incoming call to a running
gateway (issue 7, wait_call.php), signed with ``wait_call.provider_secret``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import Any

import click
import httpx

from smsgate import heap
from smsgate.cli.common import run_async, settings_of
from smsgate.clock import SystemClock
from smsgate.domain.calls import SIGNATURE_HEADER, sign
from smsgate.simulators.behaviour import ID_FORMATS, PRESETS, RECEIPT_KINDS, preset
from smsgate.simulators.smsc import SYSTEM_ID, SmscSimulator


@click.group()
def simulator() -> None:
    """Simulated outside services that speak the real protocols."""


@simulator.command("smpp")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2775, show_default=True, type=int, help="0 picks a free port.")
@click.option("--behaviour", type=click.Choice(sorted(PRESETS)), default="happy", show_default=True)
@click.option("--system-id", default=SYSTEM_ID, show_default=True)
@click.option("--latency", type=float, help="Seconds before each submit_sm_resp.")
@click.option("--latency-jitter", type=float, help="Up to this many seconds more, at random.")
@click.option(
    "--delivery-ratio", type=click.FloatRange(0, 1), help="Share delivered (else UNDELIV)."
)
@click.option("--receipt-delay", type=float, help="Seconds from the submit to its receipt.")
@click.option("--receipts", type=click.Choice(RECEIPT_KINDS), help="How receipts travel.")
@click.option("--id-format", type=click.Choice(ID_FORMATS), help="Ids in submit_sm_resp.")
@click.option("--receipt-id-format", type=click.Choice(ID_FORMATS), help="Ids in receipts.")
@click.option("--throttle-every", type=int, help="Every N-th submit_sm: ESME_RTHROTTLED.")
@click.option("--error-every", type=int, help="Every N-th submit_sm: ESME_RSUBMITFAIL.")
@click.option("--reply-text", help="Answer every accepted submit_sm with this incoming SMS.")
@click.option("--seed", type=int)
def smpp(host: str, port: int, behaviour: str, system_id: str, **options: Any) -> None:
    """Run a simulated operator SMSC until interrupted."""
    names = {
        "latency": "latency_s",
        "latency_jitter": "latency_jitter_s",
        "receipt_delay": "receipt_delay_s",
    }
    overrides = {names.get(k, k): v for k, v in options.items() if v is not None}
    try:
        chosen = preset(behaviour, **overrides)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    smsc = SmscSimulator(
        SystemClock(), chosen, host=host, port=port, system_id=system_id, precise_latency=True
    )
    run_async(_serve(smsc, behaviour))


async def _serve(smsc: SmscSimulator, behaviour: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with smsc:
        heap.settle()  # as the gateway does: no full collection walks what start-up built
        click.echo(f"SMSC simulator ({behaviour}) listening on {smsc.host}:{smsc.port}")
        sys.stdout.flush()
        await stop.wait()
    click.echo(
        f"received {smsc.received} submit_sm, accepted {len(smsc.accepted)}, "
        f"receipts acknowledged {len(smsc.receipts_acknowledged)}, "
        f"incoming messages acknowledged {len(smsc.mo_acknowledged)}"
    )


@simulator.command("call")
@click.option("--from", "caller", required=True, help="The subscriber's number (who calls).")
@click.option("--to", "called", required=True, help="The number called (of wait_call.numbers).")
@click.option(
    "--url", default=None, help="Gateway base URL (default: the configured HTTP listener)."
)
@click.option("--secret", default=None, help="Default: wait_call.provider_secret.")
@click.option("--time", "at", type=float, default=None, help="Unix seconds (default: now).")
@click.pass_context
def call(
    ctx: click.Context,
    caller: str,
    called: str,
    url: str | None,
    secret: str | None,
    at: float | None,
) -> None:
    """Report one incoming call from --from to --to, as a voice provider would."""
    settings = settings_of(ctx)
    key = settings.wait_call.provider_secret if secret is None else secret
    if not key:
        raise click.UsageError("no secret: set wait_call.provider_secret or pass --secret")
    host = settings.bind_host if ":" not in settings.bind_host else f"[{settings.bind_host}]"
    base = (url or f"http://{host}:{settings.http.port}").rstrip("/")
    event: dict[str, object] = {"from": caller, "to": called}
    if at is not None:
        event["time"] = at
    body = json.dumps(event).encode("utf-8")
    headers = {SIGNATURE_HEADER: sign(key, body), "Content-Type": "application/json"}
    try:
        response = httpx.post(
            f"{base}/providers/calls/incoming", content=body, headers=headers, timeout=10
        )
    except httpx.HTTPError as exc:
        raise click.ClickException(f"the gateway did not answer: {exc}") from None
    click.echo(response.text)
    if response.status_code != 200:
        raise click.ClickException(f"HTTP {response.status_code}")
