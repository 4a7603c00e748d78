"""The set of services one process runs, handed to every ingress by ``app.py``."""

from __future__ import annotations

from dataclasses import dataclass

from smsgate.clock import Clock
from smsgate.config import Settings
from smsgate.metrics import Metrics
from smsgate.services.accounts import AccountService
from smsgate.services.attachments import AttachmentService
from smsgate.services.auth import Authenticator
from smsgate.services.blacklist import BlacklistService
from smsgate.services.callbacks import CallbackService
from smsgate.services.contacts import ContactService
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
    # issue 7: account management
    policies: PolicyService
    subclients: SubclientService
    templates: TemplateService
    sender_codes: SenderConfirmation
    # --- contacts (issue 7) ---
    blacklist: BlacklistService
    contacts: ContactService
    history: HistoryService
    incoming: IncomingService
    exports: ExportService  # issue 6
    # issue 8
    callbacks: CallbackService
    monitoring: MonitoringService
    # --- e-mail channel (issue 9) ---
    attachments: AttachmentService
    email_opens: EmailOpenService
    inbound_numbers: InboundNumberService  # receive_phones.php
    incoming_receiver: IncomingReceiver  # incoming SMS from operators
    incoming_smpp: IncomingOverSmpp  # ... and on to SMPP receivers
    mailings: MailingService  # jobs.php
    # --- short links and call confirmation (issue 7) ---
    links: LinkService
    wait_calls: WaitCallService
