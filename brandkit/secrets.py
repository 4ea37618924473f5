"""Encryption at rest for account credentials (Fernet: AES-128-CBC with an HMAC).

The key comes from ``BRANDKIT_SECRET_KEY`` when set (for containers and CI), otherwise from the
workspace's key file, created with 0600 permissions on first use. Decrypted secrets only live in
:class:`brandkit.platforms.base.Credentials`, whose ``repr`` hides them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from brandkit.errors import SecretError
from brandkit.platforms.base import Credentials

ENV_KEY = "BRANDKIT_SECRET_KEY"


class SecretBox:
    """Encrypts and decrypts credentials with one workspace key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise SecretError(
                "the secret key is not a valid Fernet key",
                hint="it must be 32 url-safe base64-encoded bytes (Fernet.generate_key())",
            ) from exc

    @classmethod
    def from_key_file(cls, path: Path, *, create: bool = False) -> SecretBox:
        """The box for a workspace: ``BRANDKIT_SECRET_KEY`` wins over the key file."""
        env = os.environ.get(ENV_KEY)
        if env:
            return cls(env.strip().encode())
        if not path.exists():
            if not create:
                raise SecretError(
                    f"secret key file {path} does not exist",
                    hint=f"run 'brandkit init' or set {ENV_KEY}",
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
        try:
            return cls(path.read_bytes().strip())
        except OSError as exc:
            raise SecretError(f"cannot read secret key file {path}: {exc.strerror}") from exc

    def encrypt(self, credentials: Credentials) -> bytes:
        payload = {"token": credentials.token, "extra": dict(credentials.extra)}
        return self._fernet.encrypt(json.dumps(payload).encode())

    def decrypt(self, blob: bytes) -> Credentials:
        try:
            payload = json.loads(self._fernet.decrypt(blob))
        except InvalidToken as exc:
            raise SecretError(
                "stored credentials do not decrypt with this secret key",
                hint="use the key file the account was added with, or add the account again",
            ) from exc
        return Credentials(token=payload["token"], extra=payload.get("extra", {}))
