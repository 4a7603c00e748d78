"""The collector settings of a running server (smsgate/heap.py), checked in a process of its own:
freezing the test process's objects would change the rest of the suite."""

from __future__ import annotations

import json
import subprocess
import sys

from smsgate.heap import YOUNG_THRESHOLD

PROBE = """
import gc, json
from smsgate import heap
before = gc.get_freeze_count()
heap.settle()
print(json.dumps({"before": before, "frozen": gc.get_freeze_count(), "threshold": gc.get_threshold()}))
"""


def test_settle_freezes_what_exists_and_collects_the_young_less_often() -> None:
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    report = json.loads(out)
    assert report["before"] == 0
    assert report["frozen"] > 1000  # the interpreter's and smsgate's modules, at least
    assert report["threshold"][0] == YOUNG_THRESHOLD
