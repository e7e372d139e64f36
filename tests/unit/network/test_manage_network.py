"""kumo-manage network create/list/delete, run as the operator runs them (a real process)."""

from __future__ import annotations

import pathlib

from tests.unit.manage_cli import manage as _manage
from tests.unit.manage_cli import manage_json as _json


def test_network_create_list_and_delete(conf: pathlib.Path) -> None:
    [flat] = _json(conf, "network", "create", "--label", "private",
                   "--fixed-range-v4", "10.0.0.0/24", "--dns1", "8.8.8.8")
    [vlan] = _json(conf, "network", "create", "--label", "p1-net", "--fixed-range-v4",
                   "10.1.0.0/24", "--vlan", "102", "--project", "p1",
                   "--bridge-interface", "eth1", "--multi-host")
    duplicate = _manage(conf, "network", "create", "--label", "again",
                        "--fixed-range-v4", "10.0.0.0/24")
    overlapping = _manage(conf, "network", "create", "--label", "wide",
                          "--fixed-range-v4", "10.0.0.0/16")

    assert (flat["bridge"], flat["gateway"], flat["dns1"]) == ("br100", "10.0.0.1", "8.8.8.8")
    assert (vlan["bridge"], vlan["vlan"], vlan["multi_host"]) == ("br102", 102, True)
    assert duplicate.returncode == 1 and "conflicts with existing cidr" in duplicate.stderr
    assert overlapping.returncode == 1 and ("Requested cidr (10.0.0.0/16) conflicts with "
                                            "existing cidr (10.0.0.0/24)") in overlapping.stderr
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
