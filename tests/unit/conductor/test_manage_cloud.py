"""kumo-manage flavor and image commands, run as the operator runs them (a real process)."""

from __future__ import annotations

import hashlib
import pathlib

from tests.unit.manage_cli import manage as _manage
from tests.unit.manage_cli import manage_json as _json


def test_flavor_create_and_list(conf: pathlib.Path) -> None:
    created = _json(conf, "flavor", "create", "m1.tiny", "--id", "1", "--ram", "512",
                    "--vcpus", "1", "--disk", "1", "--swap", "256",
                    "--property", "hw:cpu_policy=shared")
    _json(conf, "flavor", "create", "secret", "--ram", "64", "--vcpus", "1", "--disk", "0",
          "--private", "--project", "p2", "--description", "for p2")
    duplicate = _manage(conf, "flavor", "create", "m1.tiny", "--ram", "1", "--vcpus", "1",
                        "--disk", "1")

    assert created[0]["id"] == "1" and created[0]["swap"] == 256
    assert created[0]["extra_specs"] == {"hw:cpu_policy": "shared"}
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    listed = _json(conf, "flavor", "list")
    assert sorted((f["name"], f["is_public"]) for f in listed) == [
        ("m1.tiny", True), ("secret", False)]


def test_image_import_copies_the_bytes_with_checksums(conf: pathlib.Path,
                                                      tmp_path: pathlib.Path) -> None:
    source = tmp_path / "disk.img"
    source.write_bytes(b"kumo" * 10000)

    imported = _json(conf, "image", "import", str(source), "--name", "cirros", "--public",
                     "--disk-format", "raw", "--property", "os_distro=cirros")[0]

    stored = tmp_path / "state" / "images" / imported["id"]
    assert stored.read_bytes() == source.read_bytes()
    assert imported["status"] == "active" and imported["visibility"] == "public"
    assert imported["size"] == 40000
    assert imported["checksum"] == hashlib.md5(source.read_bytes()).hexdigest()
    assert imported["properties"]["os_hash_value"] == hashlib.sha256(
        source.read_bytes()).hexdigest()
    assert imported["properties"]["os_distro"] == "cirros"
    assert [i["name"] for i in _json(conf, "image", "list")] == ["cirros"]


def test_image_import_of_a_missing_file_fails_cleanly(conf: pathlib.Path,
                                                      tmp_path: pathlib.Path) -> None:
    result = _manage(conf, "image", "import", str(tmp_path / "nope"), "--name", "x")

    assert result.returncode == 1 and "not a readable file" in result.stderr
    assert _json(conf, "image", "list") == []
