#!/usr/bin/env python3
"""Recovers every credential of an svault vault without svault, as docs/RECOVERY.md
describes: SLIP-0039 (the `shamir-mnemonic` package) for the master secret, then
HKDF-SHA256 (Python's standard library) and XChaCha20-Poly1305 (PyNaCl).

Usage: python3 scripts/recover.py VAULT SHARE_FILE... > credentials.txt
Prints `name = value` lines (values as UTF-8 where they decode, else hex:...).
"""
import hashlib
import hmac
import json
import struct
import sys

import nacl.bindings
import shamir_mnemonic


def hkdf_sha256(salt: bytes, ikm: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def main() -> int:
    vault_path, share_paths = sys.argv[1], sys.argv[2:]
    data = open(vault_path, "rb").read()
    # FORMAT.md section 1: version line, header line, then nonce || ciphertext || tag.
    first = data.index(b"\n")
    # Versions 1 and 2 differ only in header fields this recovery does not use
    # (FORMAT.md section 6.1).
    if data[:first] not in (b"svault-vault 1", b"svault-vault 2"):
        sys.exit(f"unsupported version line: {data[:first]!r}")
    end = data.index(b"\n", first + 1)
    authenticated = data[: end + 1]
    header = json.loads(data[first + 1 : end])
    payload = data[end + 1 :]

    # The master secret: SLIP-0039 with the empty passphrase (section 3).
    mnemonics = [open(p).readline().strip() for p in share_paths]
    master = shamir_mnemonic.combine_mnemonics(mnemonics, b"")

    # The payload key and the payload (section 3).
    vault_id = bytes.fromhex(header["vault_id"])
    salt = bytes.fromhex(header["payload"]["salt"])
    key = hkdf_sha256(salt, master, b"svault/v1/payload-key" + vault_id)
    nonce, sealed = payload[:24], payload[24:]
    plain = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(sealed, authenticated, nonce, key)

    # Section 3.1: count, then name, created, updated, value for each credential.
    (count,) = struct.unpack_from(">I", plain, 0)
    at = 4
    for _ in range(count):
        (name_len,) = struct.unpack_from(">H", plain, at)
        at += 2
        name = plain[at : at + name_len].decode()
        at += name_len + 16
        (value_len,) = struct.unpack_from(">I", plain, at)
        at += 4
        value = plain[at : at + value_len]
        at += value_len
        try:
            shown = value.decode()
        except UnicodeDecodeError:
            shown = "hex:" + value.hex()
        print(f"{name} = {shown}")
    if at != len(plain):
        sys.exit("trailing bytes after the last credential")
    return 0


if __name__ == "__main__":
    sys.exit(main())
