"""`kumo get-password` (decrypting with the key pair's private key) and `clear-password`."""

from __future__ import annotations

import base64
import pathlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kumo.db import metadata
from tests.unit.cli.test_main import run, table_value


def test_get_and_clear_the_password(cli_cloud: str, tmp_path: pathlib.Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(cli_cloud, capsys, "boot", "--flavor", "m1.small", "--image",
                         "tiny", "--poll", "win")
    assert code == 0, err
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.OpenSSH,
                                           serialization.NoEncryption()))
    encrypted = base64.b64encode(key.public_key().encrypt(b"s3cret!", padding.PKCS1v15()))
    metadata.instance_password_set(table_value(out, "id"), encrypted.decode())

    assert run(cli_cloud, capsys, "get-password", "win")[1].strip() == encrypted.decode()
    assert run(cli_cloud, capsys, "get-password", "win", str(key_file))[1] == "s3cret!\n"
    assert run(cli_cloud, capsys, "clear-password", "win")[0] == 0
    assert run(cli_cloud, capsys, "get-password", "win", str(key_file))[1] == "\n"
