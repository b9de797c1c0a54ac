"""API key format and hashing; no I/O here.

A key reads `bk_<prefix>_<secret>`. The prefix (12 hex characters) is public and finds the
row; the secret (32 random bytes, base64url) is checked against its HMAC-SHA256 under a
server-side pepper, so a leaked table alone cannot be used to sign in.
"""

import hashlib
import hmac
import secrets

import msgspec

SCHEME = "bk"
PREFIX_BYTES = 6
SECRET_BYTES = 32


class ParsedKey(msgspec.Struct, frozen=True):
    prefix: str
    secret: str


class NewKey(msgspec.Struct, frozen=True):
    token: str
    prefix: str
    secret_hash: bytes


def hash_secret(secret: str, *, pepper: str) -> bytes:
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).digest()


def generate(*, pepper: str) -> NewKey:
    prefix = secrets.token_hex(PREFIX_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return NewKey(token=f"{SCHEME}_{prefix}_{secret}", prefix=prefix, secret_hash=hash_secret(secret, pepper=pepper))


def parse(token: str) -> ParsedKey | None:
    """Splits a presented key; None when it cannot be one of ours. The secret may hold '_'."""
    scheme, _, rest = token.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != SCHEME or len(prefix) != 2 * PREFIX_BYTES or not secret:
        return None
    if any(c not in "0123456789abcdef" for c in prefix):
        return None
    return ParsedKey(prefix=prefix, secret=secret)


def matches(secret: str, stored_hash: bytes | None, *, pepper: str) -> bool:
    """Constant-time check. With no stored hash (unknown prefix) it still hashes and compares,
    so a caller cannot time whether a prefix exists."""
    expected = stored_hash if stored_hash is not None else bytes(hashlib.sha256().digest_size)
    return hmac.compare_digest(hash_secret(secret, pepper=pepper), expected) and stored_hash is not None
