"""The cyclic garbage collector, tuned for a long-running server.

What start-up builds (imported modules, the schema, compiled statements, warmed caches) lives as
long as the process, yet every full collection walks all of it: about 70 ms per collection here,
one every second or so under load, each finding nothing to free while every request waited (the
p99 of send.php at 1,000 requests/s). :func:`settle`, called once the server is up, moves those
objects out of the collector's sight (``gc.freeze``) and lets the youngest generation grow to
``YOUNG_THRESHOLD`` objects before a collection: with the default of 700, objects of requests still
in flight (waiting a few milliseconds for their commit) were promoted to the older generations by
hundreds of young collections a second, and those promotions are what triggers full collections.
Reference counting frees almost everything anyway; the collector remains for reference cycles.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000


def settle() -> None:
    """Freeze what exists now and collect the youngest generation less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
