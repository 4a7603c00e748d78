"""The ``smsgate`` command."""

from smsgate.cli.main import main

__all__ = ["main"]
