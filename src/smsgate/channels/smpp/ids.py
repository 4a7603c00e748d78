"""Provider message ids in one form, whichever way the SMSC writes them (field-notes.md, #418).

Operators answer ``submit_sm_resp`` with an id in hex and quote it in decimal in the receipt (or the
reverse), with or without leading zeros, in either case. Each side is read in its configured
:class:`IdFormat` and written canonically, so the two meet:

* ``decimal`` and ``hex`` ids become the decimal digits of their value (``"0001A"`` hex → ``"26"``);
* ``text`` ids are trimmed and lower-cased, leading zeros dropped (``"00AB12"`` → ``"ab12"``).

An id that does not read in its format (letters in a decimal id) falls back to the ``text`` form
rather than being lost: it can still match a receipt that quotes it the same way.
"""

from __future__ import annotations

from smsgate.channels.smpp.settings import IdFormat

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def normalise_id(raw: str, form: IdFormat) -> str:
    """The canonical form of ``raw`` written in ``form`` (module docstring)."""
    text = raw.strip()
    if form is IdFormat.DECIMAL and text.isdigit() and text.isascii():
        return str(int(text, 10))
    if form is IdFormat.HEX and text and set(text) <= _HEX_DIGITS:
        return str(int(text, 16))
    stripped = text.lower().lstrip("0").strip()  # "000 abc": the zeros, then what they hid
    return stripped or ("0" if text else "")
