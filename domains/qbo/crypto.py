"""Domain (QBO): encryption of OAuth tokens at rest (Fernet: AES-128-CBC + HMAC-SHA256)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class TokenDecryptionError(Exception):
    """A stored token cannot be decrypted (the secret key changed); the business must reconnect."""


class TokenCipher:
    """Encrypts tokens with a key derived from the app's secret, kept apart from other uses of it."""

    def __init__(self, secret: str) -> None:
        digest = hashlib.sha256(b"runway:qbo-token-encryption:v1:" + secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise TokenDecryptionError(
                "stored QuickBooks token cannot be decrypted with this secret key"
            ) from exc
