"""Exceptions that carry the code they become on the wire.

::

    SmsgateError
    ├── ConfigError            invalid configuration; names the key (start-up stops)
    ├── RequestError           an SMSC request error code 1..9 (codes.md §1), optionally with the request id
    ├── StorageError           the store could not be reached or a transaction could not commit
    └── SmppError              an SMPP command_status (tree in protocols/smpp/errors.py)

Each ingress turns these into its own replies in exactly one function (for HTTP:
``ingress/http/compat/pipeline.py``). The store translates driver errors into ``StorageError`` at its
boundary with ``raise … from``.
"""

from __future__ import annotations

from smsgate.domain.codes import RequestErrorCode


class SmsgateError(Exception):
    """Root of every error smsgate raises on purpose."""


class ConfigError(SmsgateError):
    """Invalid configuration. ``key`` is the dotted TOML key (and its environment variable)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class RequestError(SmsgateError):
    """A request refused with an SMSC request error code (codes.md §1).

    ``description`` overrides the default text of the code where an endpoint has its own wording
    (for example error 9's "duplicate request, wait a minute" against "too many requests").
    ``request_id`` is echoed back by send.php errors 3, 6, 7 and 8.
    """

    def __init__(
        self,
        code: RequestErrorCode,
        detail: str = "",
        *,
        description: str | None = None,
        request_id: int | str | None = None,
    ) -> None:
        super().__init__(f"error {int(code)}: {detail or description or code.description}")
        self.code = code
        self.detail = detail
        self.description = description or code.description
        self.request_id = request_id


class StorageError(SmsgateError):
    """The store is unavailable or a write could not be committed; nothing was acknowledged."""


class FileUnavailable(SmsgateError):
    """A file named by URL (send.php ``fileurl``) that cannot be attached; the message says why."""
