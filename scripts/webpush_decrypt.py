#!/usr/bin/env python3
"""Decrypts a Web Push message body (RFC 8291, aes128gcm) with an independent implementation.

Used by kankan-notify's interop test to check our encryption against Mozilla's `http_ece`
(PyPI) and `cryptography`, as a browser would decrypt it.

    webpush_decrypt.py <ua-private-key> <auth-secret> < body > plaintext

Both keys are base64url (padding optional): the user agent's P-256 private scalar (32 bytes)
and the 16-byte auth secret. The body is read raw from stdin, the plaintext written raw to
stdout. Exits 2 when a module is missing, 1 when decryption fails.
"""

import base64
import sys


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        import http_ece
        from cryptography.hazmat.primitives.asymmetric import ec
    except ImportError as e:
        print(f"webpush_decrypt.py: missing module: {e} (pip install http_ece)", file=sys.stderr)
        return 2
    scalar = int.from_bytes(b64url(sys.argv[1]), "big")
    private_key = ec.derive_private_key(scalar, ec.SECP256R1())
    auth = b64url(sys.argv[2])
    body = sys.stdin.buffer.read()
    try:
        # For aes128gcm the sender's public key travels in the header's keyid; dh=None.
        plaintext = http_ece.decrypt(
            body, private_key=private_key, dh=None, auth_secret=auth, version="aes128gcm"
        )
    except Exception as e:  # noqa: BLE001 - any failure is a failed interop check
        print(f"webpush_decrypt.py: decryption failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(plaintext)
    return 0


if __name__ == "__main__":
    sys.exit(main())
