"""The e-mail delivery channel (issue 9): type-8 messages through an SMTP relay."""

from smsgate.channels.email.channel import NAME, AttachmentSource, EmailChannel

__all__ = ["NAME", "AttachmentSource", "EmailChannel"]
