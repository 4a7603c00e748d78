"""Password and API-key hashing.

Passwords are verified as SMSC's official clients send them: ``psw`` may be the password or the hex
MD5 of it. The stored verifier is argon2 over the lower-case MD5 hex of the password, so both forms
check against one hash (http-api.md §1.2). argon2 is CPU-heavy and runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError

from smsgate.config import AuthSettings

API_KEY_PREFIX = "sg_"
_MD5_HEX = re.compile(r"^[0-9a-fA-F]{32}$")


def md5_hex(password: str) -> str:
    return hashlib.md5(password.encode("utf-8"), usedforsecurity=False).hexdigest()


def password_forms(psw: str) -> list[str]:
    """The MD5 hex forms ``psw`` may stand for: its own MD5, and itself when it looks like one."""
    forms = [md5_hex(psw)]
    if _MD5_HEX.match(psw):
        forms.append(psw.lower())
    return forms


def new_api_key() -> str:
    """A new random API key (256 bits)."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_password(length: int = 16) -> str:
    """A random password without look-alike characters."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


class PasswordHasher:
    """argon2id hashing and verification, off the event loop."""

    def __init__(self, settings: AuthSettings) -> None:
        self._hasher = Argon2Hasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost_kib,
            parallelism=settings.argon2_parallelism,
        )
        # Verified when a login does not exist, so that timing does not tell logins apart.
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    async def hash_password(self, password: str) -> str:
        """The stored verifier of an account password (argon2 over its MD5 hex)."""
        return await asyncio.to_thread(self._hasher.hash, md5_hex(password))

    async def hash_secret(self, secret: str) -> str:
        """argon2 of a secret taken as is (SMPP passwords)."""
        return await asyncio.to_thread(self._hasher.hash, secret)

    async def verify(self, stored_hash: str | None, candidates: list[str]) -> bool:
        """True when one of ``candidates`` matches ``stored_hash``."""
        return await asyncio.to_thread(self._verify_sync, stored_hash, candidates)

    def _verify_sync(self, stored_hash: str | None, candidates: list[str]) -> bool:
        for candidate in candidates:
            try:
                if self._hasher.verify(stored_hash or self._dummy, candidate):
                    return stored_hash is not None
            except (VerificationError, InvalidHashError):
                continue
        return False
