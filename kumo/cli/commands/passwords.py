"""Server password commands: get-password (decrypted with the key pair's private
key, as ``nova get-password`` does) and clear-password."""

from __future__ import annotations

import argparse
import base64

from kumo.cli.client import Client, CommandError
from kumo.cli.lookup import find_server
from kumo.cli.registry import arg, command


def decrypt(encrypted: str, private_key_file: str) -> str:
    """The guest's password: base64 of the RSA (PKCS#1 v1.5) encryption with the
    key pair's public key, which is what cloud-init and cloudbase-init post."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        with open(private_key_file, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise CommandError(f"Can't open '{private_key_file}': {exc}") from exc
    try:
        if b"OPENSSH PRIVATE KEY" in data:
            key = serialization.load_ssh_private_key(data, password=None)
        else:
            key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise CommandError(f"{private_key_file} is not an unencrypted private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CommandError(f"{private_key_file} is not an RSA private key")
    try:
        return key.decrypt(base64.b64decode(encrypted), padding.PKCS1v15()).decode()
    except ValueError as exc:
        raise CommandError("The password could not be decrypted with this key") from exc


@command("get-password", arg("server", metavar="<server>"),
         arg("private_key", metavar="<private-key>", nargs="?",
             help="private key file to decrypt the password with (none: print it "
                  "encrypted, base64)"))
def do_get_password(client: Client, args: argparse.Namespace) -> None:
    """Print the administrative password a server's guest stored."""
    server_id = find_server(client, args.server)["id"]
    encrypted = client.get(f"/servers/{server_id}/os-server-password")["password"]
    if encrypted and args.private_key:
        print(decrypt(encrypted, args.private_key))
    else:
        print(encrypted)


@command("clear-password", arg("server", metavar="<server>"))
def do_clear_password(client: Client, args: argparse.Namespace) -> None:
    """Clear a server's stored password (the guest may store a new one)."""
    client.delete(f"/servers/{find_server(client, args.server)['id']}/os-server-password")
