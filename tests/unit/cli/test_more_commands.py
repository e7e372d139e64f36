"""The operator's commands: flavor access and extra specs, quota classes, update/rename,
and the migrations' requests."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from kumo.cli import main as cli
from kumo.cli.client import Client, CommandError
from kumo.cli.commands import moves
from tests.unit.cli.test_main import run, table_value


def test_flavor_access_and_extra_specs(cli_cloud: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(cli_cloud, capsys, "flavor-create", "--is-public", "false",
                       "m1.private", "7", "512", "1", "1")
    assert code == 0, err
    code, out, err = run(cli_cloud, capsys, "flavor-access-add", "m1.private", "project-a")
    assert code == 0, err
    assert "| 7         | project-a |" in out, out
    code, out, _ = run(cli_cloud, capsys, "flavor-access-list", "--flavor", "7")
    assert code == 0 and "project-a" in out
    # The project it is shared with sees it; another does not.
    code, out, _ = run(cli_cloud, capsys, "flavor-list", token="alice:project-a")
    assert "m1.private" in out
    code, out, _ = run(cli_cloud, capsys, "flavor-list", token="bob:project-b")
    assert "m1.private" not in out
    code, out, _ = run(cli_cloud, capsys, "flavor-access-remove", "7", "project-a")
    assert code == 0 and "project-a" not in out

    code, _, err = run(cli_cloud, capsys, "flavor-key", "m1.private", "set",
                       "hw:cpu_policy=dedicated", "aggregate_instance_extra_specs:ssd=true")
    assert code == 0, err
    code, out, _ = run(cli_cloud, capsys, "flavor-show", "7")
    assert '"hw:cpu_policy": "dedicated"' in table_value(out, "extra_specs")
    # 2.86: a bad value of a known key is the API's 400, with its message.
    code, _, err = run(cli_cloud, capsys, "flavor-key", "7", "set", "hw:cpu_policy=fast")
    assert code == 1 and "extra spec 'hw:cpu_policy' with value 'fast'" in err
    assert err.rstrip().endswith("(HTTP 400)")
    code, _, _ = run(cli_cloud, capsys, "flavor-key", "7", "unset", "hw:cpu_policy")
    assert code == 0
    code, out, _ = run(cli_cloud, capsys, "flavor-show", "7")
    assert "hw:cpu_policy" not in table_value(out, "extra_specs")

    code, out, _ = run(cli_cloud, capsys, "flavor-update", "7", "for the db team")
    assert code == 0 and table_value(out, "description") == "for the db team"
    # Members may not share flavors.
    code, _, err = run(cli_cloud, capsys, "flavor-access-add", "2", "project-b",
                       token="alice:project-a")
    assert code == 1 and "(HTTP 403)" in err


def test_flavor_create_without_rxtx_factor_at_the_latest_microversion(
        cli_cloud: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(cli_cloud, capsys, "flavor-create", "--rxtx-factor", "2", "x", "8",
                       "512", "1", "1")
    assert code == 1 and "--rxtx-factor is gone from microversion 2.102" in err
    code, out, _ = run(cli_cloud, capsys, "--os-compute-api-version", "2.101",
                       "flavor-create", "--rxtx-factor", "2", "x", "8", "512", "1", "1")
    assert code == 0 and "RXTX_Factor" in out and "| 2.0 " in out
    code, out, _ = run(cli_cloud, capsys, "flavor-list")
    assert code == 0 and "RXTX_Factor" not in out


def test_quota_classes(cli_cloud: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(cli_cloud, capsys, "quota-class-update", "default", "--instances", "7",
                       "--server-groups", "3")
    assert code == 0 and "| instances " in out
    code, out, _ = run(cli_cloud, capsys, "quota-class-show")
    assert code == 0
    rows = {cells[0]: cells[1] for cells in (
        [c.strip() for c in line.strip("|").split("|")] for line in out.splitlines()
        if line.startswith("| ")) if len(cells) == 2}
    assert rows["instances"] == "7" and rows["server_groups"] == "3"
    code, _, err = run(cli_cloud, capsys, "quota-class-update", "default")
    assert code == 1 and "nothing to update" in err


def test_update_and_rename(cli_cloud: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(cli_cloud, capsys, "boot", "--flavor", "2", "--image", "tiny", "old")
    assert code == 0
    server_id = table_value(out, "id")
    code, out, err = run(cli_cloud, capsys, "update", "old", "--name", "new",
                         "--description", "web tier")
    assert code == 0, err
    assert table_value(out, "name") == "new" and table_value(out, "description") == "web tier"
    code, _, _ = run(cli_cloud, capsys, "rename", server_id, "newer")
    assert code == 0
    code, out, _ = run(cli_cloud, capsys, "show", server_id)
    assert table_value(out, "name") == "newer"
    code, _, err = run(cli_cloud, capsys, "update", server_id)
    assert code == 1 and "nothing to update" in err


class Recorder:
    """A client that records the actions it is asked to send."""

    def __init__(self, version: str) -> None:
        self.api_version = version
        self.actions: list[tuple[str, str, Any]] = []

    # The real client's microversion checks, over the version given here.
    api_version_at_least = Client.api_version_at_least
    require = Client.require

    def get(self, path: str, microversion: str | None = None) -> Any:
        return {"server": {"id": "s1", "name": "vm", "status": "ACTIVE"}}

    def action(self, server_id: str, name: str, value: Any = None) -> None:
        self.actions.append((server_id, name, value))


def _args(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(list(argv))


@pytest.mark.parametrize("version, argv, expected", [
    ("2.102", ["live-migration", "vm"], {"host": None, "block_migration": "auto"}),
    ("2.102", ["live-migration", "vm", "cmp2", "--block-migrate"],
     {"host": "cmp2", "block_migration": True}),
    ("2.24", ["live-migration", "vm", "cmp2"],
     {"host": "cmp2", "block_migration": False, "disk_over_commit": False}),
])
def test_live_migration_request(version: str, argv: list[str], expected: Any) -> None:
    client = Recorder(version)
    moves.do_live_migration(client, _args(*argv))  # type: ignore[arg-type]
    assert client.actions == [("s1", "os-migrateLive", expected)]


def test_migrate_request() -> None:
    client = Recorder("2.102")
    moves.do_migrate(client, _args("migrate", "vm"))  # type: ignore[arg-type]
    moves.do_migrate(client, _args("migrate", "vm", "--host", "cmp2"))  # type: ignore[arg-type]
    assert client.actions == [("s1", "migrate", None), ("s1", "migrate", {"host": "cmp2"})]
    with pytest.raises(CommandError, match="needs microversion 2.56"):
        moves.do_migrate(Recorder("2.55"),  # type: ignore[arg-type]
                         _args("migrate", "vm", "--host", "cmp2"))


def test_keypair_add_generates_at_2_91_when_the_cloud_is_newer(
        cli_cloud: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(cli_cloud, capsys, "keypair-add", "gen", token="alice:project-a")
    assert code == 0, err
    assert "PRIVATE KEY" in out
    code, out, _ = run(cli_cloud, capsys, "keypair-list", token="alice:project-a")
    assert "gen" in out
