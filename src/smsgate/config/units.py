"""Units of configuration values."""

from __future__ import annotations


class Seconds(float):
    """A duration in seconds; the file may say ``30``, ``30s``, ``10m``, ``1h`` or ``7d``."""
