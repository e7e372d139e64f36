"""Key pair material: generate SSH keys and X.509 certificates, and fingerprint them.

Fingerprints match Nova's, so a user sees the same value in kumo, in Nova and
in ``ssh-keygen -l -E md5``: an SSH key's is the MD5 of its base64 blob, an
X.509 certificate's the SHA-1 of its DER form, both as colon-separated hex.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from kumo import exception

RSA_KEY_SIZE = 2048
CERT_VALIDITY_DAYS = 3650


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{byte:02x}" for byte in digest)


def ssh_fingerprint(public_key: str) -> str:
    """The MD5 fingerprint of an OpenSSH public key line.

    :raises InvalidKeypair: the text is not an SSH public key.
    """
    try:
        key = serialization.load_ssh_public_key(public_key.strip().encode())
        blob = key.public_bytes(serialization.Encoding.OpenSSH,
                                serialization.PublicFormat.OpenSSH).split()[1]
        return _colon_hex(hashlib.md5(base64.b64decode(blob), usedforsecurity=False).digest())
    except (ValueError, IndexError, binascii.Error, TypeError, UnicodeError):
        raise exception.InvalidKeypair(reason="failed to generate fingerprint") from None


def x509_fingerprint(certificate: str) -> str:
    """The SHA-1 fingerprint of a PEM X.509 certificate.

    :raises InvalidKeypair: the text is not a PEM certificate.
    """
    try:
        cert = x509.load_pem_x509_certificate(certificate.strip().encode())
    except (ValueError, TypeError, UnicodeError):
        raise exception.InvalidKeypair(reason="failed to generate X509 fingerprint") from None
    return _colon_hex(cert.fingerprint(hashes.SHA1()))  # noqa: S303 - Nova's format


def fingerprint(key_type: str, public_key: str) -> str:
    """The fingerprint of ``public_key`` of ``key_type`` (``ssh`` or ``x509``)."""
    if key_type == "x509":
        return x509_fingerprint(public_key)
    return ssh_fingerprint(public_key)


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def generate_ssh_key_pair() -> tuple[str, str, str]:
    """A new RSA key: (private key PEM, OpenSSH public key, fingerprint)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
    public_key = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    public_key += " Generated-by-Kumo"
    return _private_pem(key), public_key, ssh_fingerprint(public_key)


def generate_x509_certificate(user_id: str) -> tuple[str, str, str]:
    """A new RSA key with a self-signed certificate for ``user_id`` (WinRM-style, as
    Nova makes them): (private key PEM, certificate PEM, fingerprint)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=CERT_VALIDITY_DAYS))
            .add_extension(x509.SubjectAlternativeName([
                x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"),
                               _utf8_der(f"{user_id}@localhost"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    certificate = cert.public_bytes(serialization.Encoding.PEM).decode()
    return _private_pem(key), certificate, x509_fingerprint(certificate)


def _utf8_der(text: str) -> bytes:
    """``text`` as a DER UTF8String (the value of a userPrincipalName OtherName)."""
    data = text.encode()
    if len(data) < 128:
        return bytes([0x0C, len(data)]) + data
    length = len(data).to_bytes((len(data).bit_length() + 7) // 8, "big")
    return bytes([0x0C, 0x80 | len(length)]) + length + data
