"""Account logins: what one may look like."""

from __future__ import annotations

import re

# Letters, digits and . _ @ - ; at most 64 characters; compared case-insensitively.
_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def is_valid_login(login: str) -> bool:
    return _LOGIN.match(login) is not None
