"""AES-256-CBC as KIS uses it for ``1|`` data frames.

Key and iv are the UTF-8 bytes of the strings in the subscribe ack (32 and 16 characters);
the payload is base64 of the PKCS#7-padded ciphertext of UTF-8 text.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from Crypto.Cipher import AES
from Crypto.Util.Padding import pad, unpad

from capture.errors import DecryptError


def _cipher(key: str, iv: str) -> Any:  # pycryptodome keeps its cipher classes private
    key_bytes, iv_bytes = key.encode(), iv.encode()
    if len(key_bytes) != 32 or len(iv_bytes) != 16:
        raise DecryptError(
            f"AES-256-CBC needs a 32-byte key and a 16-byte iv, got {len(key_bytes)} and "
            f"{len(iv_bytes)}"
        )
    return AES.new(key_bytes, AES.MODE_CBC, iv_bytes)


def decrypt(payload: str | bytes, key: str, iv: str) -> str:
    """Decrypt a base64 payload to text.

    Raises:
        DecryptError: bad base64, a ciphertext that is not whole blocks, bad padding, a key or
            iv of the wrong length, or plaintext that is not UTF-8.
    """
    try:
        ciphertext = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptError(f"payload is not base64: {exc}") from exc
    if not ciphertext or len(ciphertext) % AES.block_size:
        raise DecryptError(f"ciphertext of {len(ciphertext)} bytes is not whole AES blocks")
    try:
        plain = unpad(_cipher(key, iv).decrypt(ciphertext), AES.block_size)
    except ValueError as exc:
        raise DecryptError(f"bad PKCS#7 padding: {exc}") from exc
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecryptError(f"decrypted payload is not UTF-8: {exc}") from exc


def encrypt(text: str, key: str, iv: str) -> str:
    """Encrypt text the way KIS does (the simulator's ``--encrypt``); inverse of :func:`decrypt`."""
    ciphertext = _cipher(key, iv).encrypt(pad(text.encode("utf-8"), AES.block_size))
    return base64.b64encode(ciphertext).decode("ascii")
