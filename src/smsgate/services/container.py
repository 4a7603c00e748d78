"""The set of services one process runs, handed to every ingress by ``app.py``."""

from __future__ import annotations

from dataclasses import dataclass

from smsgate.clock import Clock
from smsgate.config import Settings
from smsgate.metrics import Metrics
from smsgate.services.accounts import AccountService
from smsgate.services.attachments import AttachmentService
from smsgate.services.auth import Authenticator
from smsgate.services.directory import AccountDirectory
from smsgate.services.email2sms import Email2SmsService
from smsgate.services.email_opens import EmailOpenService
from smsgate.services.guards import Guards
from smsgate.services.numbering import NumberingService
from smsgate.services.routing import RouteService
from smsgate.services.senders import SenderService
from smsgate.services.sending import SendingService
from smsgate.services.smpp import SmppService
from smsgate.services.statuses import StatusService
from smsgate.services.tariffs import TariffService
from smsgate.store.db import Database
from smsgate.store.writer import GroupCommitWriter


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    clock: Clock
    db: Database
    writer: GroupCommitWriter
    guards: Guards
    auth: Authenticator
    directory: AccountDirectory
    accounts: AccountService
    tariffs: TariffService
    numbering: NumberingService
    senders: SenderService
    sending: SendingService
    statuses: StatusService
    routes: RouteService
    metrics: Metrics
    smpp: SmppService
    # --- e-mail to SMS (issue 9) ---
    email2sms: Email2SmsService
    # --- e-mail channel (issue 9) ---
    attachments: AttachmentService
    email_opens: EmailOpenService
