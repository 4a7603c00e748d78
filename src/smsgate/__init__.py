"""smsgate: a self-hosted multi-channel messaging gateway with an SMSC-compatible API."""

__version__ = "0.1.0"
