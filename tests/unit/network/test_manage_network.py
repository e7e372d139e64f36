"""kumo-manage network create/list/delete, run as the operator runs them (a real process)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any

import pytest


def _manage(conf: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kumo.cmd.manage", "--config-file", str(conf), *args],
        capture_output=True, text=True, timeout=60, check=False)


def _json(conf: pathlib.Path, *args: str) -> Any:
    result = _manage(conf, *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def conf(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "kumo.conf"
    path.write_text(f"[DEFAULT]\nstate_path = {tmp_path}/state\n"
                    f"[database]\nconnection = sqlite:///{tmp_path}/kumo.sqlite\n")
    assert _manage(path, "db", "sync").returncode == 0
    return path


def test_network_create_list_and_delete(conf: pathlib.Path) -> None:
    [flat] = _json(conf, "network", "create", "--label", "private",
                   "--fixed-range-v4", "10.0.0.0/24", "--dns1", "8.8.8.8")
    [vlan] = _json(conf, "network", "create", "--label", "p1-net", "--fixed-range-v4",
                   "10.1.0.0/24", "--vlan", "102", "--project", "p1",
                   "--bridge-interface", "eth1", "--multi-host")
    duplicate = _manage(conf, "network", "create", "--label", "again",
                        "--fixed-range-v4", "10.0.0.0/24")

    assert (flat["bridge"], flat["gateway"], flat["dns1"]) == ("br100", "10.0.0.1", "8.8.8.8")
    assert (vlan["bridge"], vlan["vlan"], vlan["multi_host"]) == ("br102", 102, True)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    assert [n["label"] for n in _json(conf, "network", "list")] == ["private", "p1-net"]

    assert _manage(conf, "network", "delete", flat["id"]).returncode == 0
    assert [n["label"] for n in _json(conf, "network", "list")] == ["p1-net"]
    missing = _manage(conf, "network", "delete", flat["id"])
    assert missing.returncode == 1 and "could not be found" in missing.stderr


def test_floating_create_list_and_delete(conf: pathlib.Path) -> None:
    made = _json(conf, "floating", "create", "--ip-range", "203.0.113.0/29", "--pool", "public")
    again = _manage(conf, "floating", "create", "--ip-range", "203.0.113.4/30")

    assert [f["address"] for f in made] == [f"203.0.113.{i}" for i in range(1, 7)]
    assert {f["pool"] for f in made} == {"public"}
    assert again.returncode == 1 and "already exist" in again.stderr
    assert len(_json(conf, "floating", "list")) == 6
    assert _manage(conf, "floating", "delete", "--ip-range", "203.0.113.0/30").returncode == 0
    assert [f["address"] for f in _json(conf, "floating", "list")] == [
        "203.0.113.4", "203.0.113.5", "203.0.113.6"]
