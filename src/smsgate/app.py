"""Wiring: build the services and run the listeners of one smsgate process.

This is the only module that constructs objects and hands them to each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

import smsgate
from smsgate.channels.base import Channel, Receipt
from smsgate.channels.email import NAME as EMAIL
from smsgate.channels.email import EmailChannel
from smsgate.channels.file_fetch import fetch_file
from smsgate.channels.simulator import NAME as SIMULATOR
from smsgate.channels.simulator import SimulatorChannel, SimulatorSettings
from smsgate.channels.simulator_log import HandoverLog
from smsgate.channels.simulator_rules import RuleSyntaxError, parse_rules
from smsgate.channels.smpp.connector import SmppConnector  # issue 5
from smsgate.channels.smpp.settings import ConnectorSettings, upstream_connectors  # issue 5
from smsgate.channels.webhook import WebhookPoster, build_clients
from smsgate.clock import Clock
from smsgate.config import Settings
from smsgate.dispatch.callbacks import CallbackSender
from smsgate.dispatch.connectors import ConnectorLimits, Connectors
from smsgate.dispatch.exports import ExportRunner
from smsgate.dispatch.mailings import scheduler_for
from smsgate.dispatch.ownership import ConnectorLeases  # issue 5
from smsgate.dispatch.upstream import bind_pacers  # issue 5
from smsgate.dispatch.upstream import connector_limits as upstream_limits
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.codes import MessageType
from smsgate.domain.links import LinkStyle
from smsgate.errors import ConfigError
from smsgate.ingress.http.app import build_http_app
from smsgate.ingress.http.protocol import CompatHttpProtocol
from smsgate.ingress.smpp.server import SmppServer
from smsgate.ingress.smtp.handler import SmtpIngress
from smsgate.ingress.smtp.server import SmtpServer
from smsgate.metrics import Metrics
from smsgate.services.accounts import AccountService
from smsgate.services.attachments import AttachmentService
from smsgate.services.auth import Authenticator
from smsgate.services.blacklist import BlacklistService
from smsgate.services.callbacks import CallbackService
from smsgate.services.contacts import ContactService
from smsgate.services.container import Services
from smsgate.services.credentials import PasswordHasher
from smsgate.services.directory import AccountDirectory
from smsgate.services.email2sms import Email2SmsService
from smsgate.services.email_opens import EmailOpenService
from smsgate.services.exports import ExportService
from smsgate.services.guards import Guards
from smsgate.services.history import HistoryService
from smsgate.services.inbound_numbers import InboundNumberService
from smsgate.services.incoming import IncomingOverSmpp, IncomingReceiver, IncomingService
from smsgate.services.mailings import MailingService
from smsgate.services.monitoring import MonitoringService
from smsgate.services.numbering import NumberingService
from smsgate.services.policies import PolicyService
from smsgate.services.routing import RouteService
from smsgate.services.send_rules import SendRules
from smsgate.services.sender_codes import SenderConfirmation
from smsgate.services.senders import SenderService
from smsgate.services.sending import SendingService
from smsgate.services.short_links import LinkService
from smsgate.services.smpp import SmppService
from smsgate.services.statuses import StatusService
from smsgate.services.subclients import SubclientService
from smsgate.services.tariffs import TariffService
from smsgate.services.templates import TemplateService
from smsgate.services.wait_calls import WaitCallService
from smsgate.store import migrate
from smsgate.store.db import Database
from smsgate.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

LISTENERS = ("http", "smtp", "smpp")
# Connectors a route may name. The built-in simulator is the embedded default route; the e-mail
# channel exists when ``email.host`` is configured (issue 9); the upstream SMPP connectors of the
# configuration ([[connectors]], issue 5) come next to them.
CONNECTORS = (SIMULATOR, EMAIL)


def upstream_settings(settings: Settings) -> list[ConnectorSettings]:
    """The configured upstream SMPP connectors (issue 5); ConfigError names a bad key."""
    return upstream_connectors(settings.connectors, frozenset(CONNECTORS))


def connector_names(settings: Settings) -> tuple[str, ...]:
    return (*CONNECTORS, *(c.name for c in upstream_settings(settings)))


HOUSEKEEPING_INTERVAL_S = 60.0


@contextlib.asynccontextmanager
async def open_services(settings: Settings, clock: Clock) -> AsyncIterator[Services]:
    """Open the database and the group-commit writer and build every service on them."""
    db = Database.open(settings.database)
    try:
        writer = GroupCommitWriter(
            db,
            max_batch=settings.database.writer_max_batch,
            queue_size=settings.database.writer_queue,
        )
        async with writer:
            hasher = PasswordHasher(settings.auth)
            guards = Guards(
                db,
                writer,
                settings.limits,
                settings.lockout,
                clock,
                settings.node_id or socket.gethostname(),
            )
            directory = AccountDirectory(db, clock, settings.auth.account_cache_ttl)
            metrics = Metrics()
            metrics.watch_writer(lambda: (writer.stats.transactions, writer.stats.operations))
            numbering = NumberingService(db, writer, clock)
            tariffs = TariffService(db, writer, clock)
            # issue 7: account management
            policies = PolicyService(db, clock)
            templates = TemplateService(db, writer, clock)
            senders = SenderService(db, writer, clock, policies=policies)
            blacklist = BlacklistService(db, writer, clock)  # contacts (issue 7)
            contacts = ContactService(db, writer, clock, numbering, blacklist)
            links = LinkStyle.for_base(settings.links.base_url, settings.links.code_length)
            sending = SendingService(
                writer,
                guards,
                numbering,
                tariffs,
                senders,
                clock,
                duplicate_limit=settings.limits.send_identical,
                window=settings.limits.window,
                rules=SendRules(db, policies, templates, clock),
                lists=contacts,
                links=links,  # tinyurl=1 (issue 7)
            )
            yield Services(
                settings=settings,
                clock=clock,
                db=db,
                writer=writer,
                guards=guards,
                auth=Authenticator(directory, hasher, guards, settings.auth, clock),
                directory=directory,
                accounts=AccountService(db, writer, hasher, directory, clock),
                tariffs=tariffs,
                numbering=numbering,
                senders=senders,
                sending=sending,
                statuses=StatusService(db, writer, clock),
                routes=RouteService(
                    db,
                    writer,
                    clock,
                    default_connector=SIMULATOR,
                    connectors=connector_names(settings),
                    # e-mail channel (issue 9): with no routes, mail goes to the relay when set up
                    type_defaults={MessageType.MAIL: EMAIL} if settings.email.host else None,
                ),
                metrics=metrics,
                smpp=SmppService(db, writer, clock),
                email2sms=Email2SmsService(db, writer, clock),
                # issue 7: account management
                policies=policies,
                subclients=SubclientService(
                    db, writer, hasher, directory, policies, senders, clock
                ),
                templates=templates,
                sender_codes=SenderConfirmation(writer, senders, sending, clock),
                blacklist=blacklist,
                contacts=contacts,
                history=HistoryService(db),
                incoming=IncomingService(db, writer, clock),
                exports=ExportService(db, writer, clock, settings.exports),  # issue 6
                # issue 8
                callbacks=CallbackService(db, writer, clock, settings.callbacks),
                monitoring=MonitoringService(db, writer, sending, clock),
                attachments=AttachmentService(
                    db,
                    writer,
                    clock,
                    max_bytes=settings.email.max_attachments,
                    fetch=partial(
                        fetch_file,
                        max_bytes=settings.email.max_attachments,
                        timeout_s=float(settings.email.fileurl_timeout),
                        allow_private_networks=settings.email.fileurl_allow_private_networks,
                    ),
                ),
                email_opens=EmailOpenService(writer, clock, secret=settings.email.track_secret),
                inbound_numbers=InboundNumberService(db, writer, clock),  # receive_phones.php
                incoming_receiver=IncomingReceiver(writer, clock, settings.callbacks),  # MO
                incoming_smpp=IncomingOverSmpp(db, writer, clock),
                mailings=MailingService(db, writer, clock, sending, contacts),
                links=LinkService(db, writer, clock, links),  # issue 7
                wait_calls=WaitCallService(writer, clock, settings.wait_call, settings.callbacks),
            )
    finally:
        await db.close()


async def migrate_database(settings: Settings) -> list[str]:
    """Apply pending migrations; the revisions that were applied (oldest last)."""
    db = Database.open(settings.database, pooled=False)
    try:
        pending = await migrate.pending_revisions(db)
        if pending:
            await migrate.upgrade(db)
        return pending
    finally:
        await db.close()


def export_runner(services: Services) -> ExportRunner:
    """The runner of export tasks (issue 6) on this node's services."""
    return ExportRunner(
        services.db,
        services.writer,
        services.clock,
        services.settings.exports,
        node_id=services.guards.node_id,
    )


def simulator_settings(settings: Settings) -> SimulatorSettings:
    """The simulator's settings from the configuration; ConfigError names a bad key."""
    config = settings.simulator
    try:
        rules = parse_rules(config.rules)
    except RuleSyntaxError as exc:
        raise ConfigError("simulator.rules (SMSGATE_SIMULATOR_RULES)", str(exc)) from None
    try:
        return SimulatorSettings(
            latency_s=float(config.latency),
            latency_jitter_s=float(config.latency_jitter),
            delivery_ratio=float(config.delivery_ratio),
            test_delay_s=float(config.test_delay),
            seed=config.seed,
            rules=rules,
        )
    except ValueError as exc:
        raise ConfigError("simulator", str(exc)) from None


def connector_limits(settings: Settings) -> ConnectorLimits:
    """The simulator connector's pacing from the configuration; ConfigError names a bad key."""
    try:
        return ConnectorLimits(tps=float(settings.simulator.tps), window=settings.simulator.window)
    except ValueError as exc:
        raise ConfigError("simulator.tps/simulator.window", str(exc)) from None


def email_limits(settings: Settings) -> ConnectorLimits:
    """The e-mail relay's pacing (issue 9); ConfigError names a bad key."""
    try:
        return ConnectorLimits(tps=float(settings.email.tps), window=settings.email.window)
    except ValueError as exc:
        raise ConfigError("email.tps/email.window", str(exc)) from None


class _Server(uvicorn.Server):
    """Uvicorn without its own signal handling: the gateway stops every listener together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(slots=True)
class _Listener:
    name: str
    server: _Server
    sock: socket.socket
    task: asyncio.Task[None] | None = None


class Gateway:
    """One smsgate process: services plus the chosen listeners; an async context manager.

    ``__aenter__`` returns once every listener's socket is bound and listening; ``ports`` then holds
    the ports actually bound (useful with port 0).
    """

    def __init__(self, settings: Settings, clock: Clock, *, only: frozenset[str]) -> None:
        unknown = only - set(LISTENERS)
        if unknown:
            raise ValueError(f"unknown listener(s): {', '.join(sorted(unknown))}")
        self._settings = settings
        self._clock = clock
        self._only = only
        self._stack = contextlib.AsyncExitStack()
        self._listeners: list[_Listener] = []
        self._housekeeping: asyncio.Task[None] | None = None
        self._publishing: asyncio.Task[None] | None = None
        self._dispatching: asyncio.Task[None] | None = None
        self._exporting: asyncio.Task[None] | None = None  # issue 6
        self._calling_back: asyncio.Task[None] | None = None  # issue 8
        self._mailing: asyncio.Task[None] | None = None  # jobs.php
        self._leasing: asyncio.Task[None] | None = None  # issue 5
        self._leases: ConnectorLeases | None = None
        self.upstream: list[SmppConnector] = []
        self.simulator: SimulatorChannel | None = None
        self.email: EmailChannel | None = None
        self.smtp: SmtpServer | None = None
        self.smpp: SmppServer | None = None
        self.services: Services | None = None
        self.ports: dict[str, int] = {}

    async def __aenter__(self) -> Gateway:
        try:
            self.services = await self._stack.enter_async_context(
                open_services(self._settings, self._clock)
            )
            if "http" in self._only:
                self._start_http(self.services)
            if "smtp" in self._only:
                await self._start_smtp(self.services)
            if "smpp" in self._only:
                await self._start_smpp(self.services)
            self._housekeeping = asyncio.create_task(self._housekeep(self.services))
            self._publishing = asyncio.create_task(self._publish_slots(self.services))
            # The built-in operator simulator is the embedded default route.
            self.simulator = SimulatorChannel(
                self._clock,
                simulator_settings(self._settings),
                plan=await self.services.numbering.plan(),
                log=HandoverLog(Path(self._settings.simulator.log))
                if self._settings.simulator.log
                else None,
            )
            channels: list[Channel] = [self.simulator]
            limits = {SIMULATOR: connector_limits(self._settings)}
            # --- e-mail channel (issue 9) ---
            if self._settings.email.host:
                self.email = await self._stack.enter_async_context(
                    EmailChannel(
                        self._settings.email,
                        self._clock,
                        attachments=self.services.attachments.load,
                    )
                )
                channels.append(self.email)
                limits[EMAIL] = email_limits(self._settings)
            # --- end e-mail channel ---
            # --- issue 5: upstream SMPP connectors, their receipts stored before they are answered
            upstream = upstream_settings(self._settings)
            dispatchers: list[Dispatcher] = []

            async def store_receipts(name: str, receipts: Sequence[Receipt]) -> None:
                await dispatchers[0].store_receipts(name, receipts)

            for config in upstream:
                self.upstream.append(
                    await self._stack.enter_async_context(
                        SmppConnector(
                            config,
                            self._clock,
                            store_receipts,
                            bind_pacers(self._clock),
                            mo_sink=self.services.incoming_receiver.receive,  # incoming SMS
                        )
                    )
                )
                limits[config.name] = upstream_limits(config)
            channels.extend(self.upstream)
            # --- end issue 5
            connectors = Connectors(channels, self._clock, limits)
            dispatcher = Dispatcher(
                self.services.writer,
                connectors,
                self._clock,
                routes=self.services.routes.table,
            )
            dispatchers.append(dispatcher)
            self._dispatching = asyncio.create_task(dispatcher.run(), name="dispatcher")
            self._exporting = asyncio.create_task(  # issue 6
                export_runner(self.services).run(), name="export-runner"
            )
            self._calling_back = asyncio.create_task(  # issue 8
                self._send_callbacks(self.services), name="callbacks"
            )
            self._mailing = asyncio.create_task(scheduler_for(self.services).run(), name="mailings")
            if self.upstream:  # issue 5: one node at a time runs a connector's binds
                self._leases = ConnectorLeases(
                    self.services.writer,
                    self._clock,
                    self._settings.node_id or socket.gethostname(),
                    self.upstream,
                )
                self._leasing = asyncio.create_task(self._leases.run(), name="connector-leases")
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for listener in self._listeners:
            listener.server.should_exit = True
        for listener in self._listeners:
            if listener.task is not None:
                await listener.task
            listener.sock.close()
        for task in (
            self._calling_back,
            self._dispatching,
            self._exporting,
            self._mailing,
            self._leasing,
            self._housekeeping,
            self._publishing,
        ):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._leases is not None:  # issue 5: unbind and hand the connectors to another node
            with contextlib.suppress(Exception):
                await self._leases.release()
        await self._stack.aclose()

    def listener_status(self) -> Mapping[str, bool]:
        status = {
            listener.name: listener.task is not None and not listener.task.done()
            for listener in self._listeners
        }
        if self.smtp is not None:
            status.update(self.smtp.listening())
        if self.smpp is not None:
            status.update(self.smpp.listening())
        return status

    async def wait(self) -> None:
        """Until a listener stops (or the gateway is closed)."""
        tasks: list[asyncio.Future[None]] = [
            listener.task for listener in self._listeners if listener.task is not None
        ]
        smtp_stopped = asyncio.ensure_future(self.smtp.wait()) if self.smtp is not None else None
        if smtp_stopped is not None:
            tasks.append(smtp_stopped)
        if tasks:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if smtp_stopped is not None:
            smtp_stopped.cancel()

    def stop(self) -> None:
        for listener in self._listeners:
            listener.server.should_exit = True
        if self.smtp is not None:
            self.smtp.stop()

    async def _start_smtp(self, services: Services) -> None:
        """The SMTP ingress (e-mail to SMS, issue 9) on ``smtp.port`` (and ``smtp.tls_port``)."""
        settings = self._settings.smtp
        server = SmtpServer(
            settings,
            SmtpIngress(services, settings),
            host=self._settings.bind_host,
            reuse_port=self._settings.runtime.reuse_port,
        )
        self.smtp = await self._stack.enter_async_context(server)
        self.ports.update(server.ports)

    async def _start_smpp(self, services: Services) -> None:
        """The SMPP server (issue 5) on ``smpp.port`` (and ``smpp.tls_port``)."""
        server = SmppServer(
            services,
            self._settings.smpp,
            self._clock,
            host=self._settings.bind_host,
            node=self._settings.node_id or socket.gethostname(),
            reuse_port=self._settings.runtime.reuse_port,
        )
        self.smpp = await self._stack.enter_async_context(server)
        self.ports.update(server.ports)

    def _start_http(self, services: Services) -> None:
        http = self._settings.http
        app = build_http_app(services, self.listener_status)
        self._serve("http", app, http.port)
        if http.tls_port is not None:
            self._serve("https", app, http.tls_port, cert=http.tls_cert, key=http.tls_key)

    def _serve(
        self, name: str, app: Starlette, port: int, *, cert: str = "", key: str = ""
    ) -> None:
        config = uvicorn.Config(
            app,
            http=CompatHttpProtocol,
            loop="none",
            lifespan="off",
            access_log=False,
            log_config=None,
            timeout_keep_alive=30,
            # Client addresses behind proxies are resolved by us (http.trusted_proxies) only.
            proxy_headers=False,
            server_header=False,
            ssl_certfile=cert or None,
            ssl_keyfile=key or None,
        )
        if cert:
            config.load()  # builds the SSL context now, so a bad certificate fails start-up
        sock = _listen(self._settings.bind_host, port, self._settings.runtime.reuse_port)
        server = _Server(config)
        listener = _Listener(name, server, sock)
        listener.task = asyncio.create_task(server.serve(sockets=[sock]), name=f"listener-{name}")
        self._listeners.append(listener)
        self.ports[name] = sock.getsockname()[1]

    async def _publish_slots(self, services: Services) -> None:
        """Every ``limits.concurrent_publish``: this node's requests in progress, for the others."""
        while True:
            await self._clock.sleep(self._settings.limits.concurrent_publish)
            try:
                await services.guards.publish_slots()
            except Exception:  # keep publishing after a database hiccup
                log.exception("publishing requests in progress failed")

    async def _send_callbacks(self, services: Services) -> None:
        """The callback sender (issue 8) with its own HTTP client, closed when it stops."""
        async with build_clients(self._settings.callbacks) as client:
            poster = WebhookPoster(client, f"smsgate/{smsgate.__version__}")
            sender = CallbackSender(services.writer, poster, self._clock, self._settings.callbacks)
            try:
                await sender.run()
            finally:
                await sender.close()

    async def _housekeep(self, services: Services) -> None:
        while True:
            await self._clock.sleep(HOUSEKEEPING_INTERVAL_S)
            try:
                await services.guards.purge()
                await services.inbound_numbers.renew_due()  # rented numbers, on the 1st
                await services.incoming_receiver.expire_parts()
            except Exception:  # housekeeping must survive a database hiccup
                log.exception("housekeeping failed")


def _listen(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.setblocking(False)
    return sock
