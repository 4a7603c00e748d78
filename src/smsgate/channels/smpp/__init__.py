"""Upstream SMPP connectors (issue 5, egress): binds to an operator's SMSC, submit_sm out, receipts in.

``settings.py``   ``ConnectorSettings`` / ``BindSettings`` and ``connector_settings(config, index)``.
``connector.py``  ``SmppConnector``: the :class:`~smsgate.channels.base.Channel`; receipts go to a sink
                  that stores them before they are answered.
``bind.py``       ``UpstreamBind``: connect, bind, reconnect with jittered backoff, send under a pacer.
``parts.py``      a message as its submit_sm PDUs (data_coding, UDH / SAR / message_payload).
``outcomes.py``   submit_sm_resp command_status → outcome (the table is in its docstring).
``receipts.py``   deliver_sm / data_sm → :class:`~smsgate.channels.base.Receipt`.
``ids.py``        provider ids normalised (hex / decimal / text, case, leading zeros).
"""

from smsgate.channels.smpp.connector import ReceiptSink, SmppConnector
from smsgate.channels.smpp.settings import BindSettings, ConnectorSettings, connector_settings

__all__ = [
    "BindSettings",
    "ConnectorSettings",
    "ReceiptSink",
    "SmppConnector",
    "connector_settings",
]
