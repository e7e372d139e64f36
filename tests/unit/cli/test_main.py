"""The `kumo` CLI against the real API app over HTTP: parsing, tables, --poll, errors."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from kumo.api.openstack import versions
from kumo.cli import main as cli
from kumo.cli.client import CommandError
from kumo.cli.commands import servers
from kumo.cli.formatting import ProgressBar, print_dict, print_list


def run(url: str, capsys: pytest.CaptureFixture[str], *argv: str,
        token: str = "admin:admin") -> tuple[int, str, str]:
    code = cli.main(["--os-compute-api-url", url, "--os-token", token, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def table_value(output: str, prop: str) -> str:
    """The Value of ``prop`` in a Property/Value table."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] == prop:
            return cells[1]
    raise AssertionError(f"{prop} not in\n{output}")


def test_version_list_shows_the_microversion_range(cli_cloud: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(cli_cloud, capsys, "version-list")
    assert code == 0
    assert re.search(rf"\| v2\.1 +\| CURRENT .*\| {re.escape(versions.MIN_VERSION)} +\| "
                     rf"{re.escape(versions.MAX_VERSION)} +\|", out), out


def test_boot_poll_list_show_delete(cli_cloud: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(cli_cloud, capsys, "boot", "--flavor", "m1.small", "--image", "tiny",
                         "--meta", "role=web", "--poll", "web")
    assert code == 0, err
    server_id = table_value(out, "id")
    assert table_value(out, "name") == "web"
    assert table_value(out, "status") == "BUILD"
    assert table_value(out, "metadata") == '{"role": "web"}'
    # Without a TTY the bar is one line per change, the last one 100% ACTIVE.
    bars = err.strip().splitlines()
    assert bars[0].startswith("Server building... [") and "BUILD" in bars[0], err
    assert re.search(r"\[#{30}\] 100% ACTIVE$", bars[-1]), err

    code, out, _ = run(cli_cloud, capsys, "list")
    assert code == 0
    assert re.search(rf"\| {server_id} \| web +\| ACTIVE +\|", out), out
    code, out, _ = run(cli_cloud, capsys, "show", "web")
    assert code == 0 and table_value(out, "id") == server_id

    code, out, _ = run(cli_cloud, capsys, "delete", "web")
    assert code == 0 and "Request to delete server web has been accepted." in out
    code, out, err = run(cli_cloud, capsys, "show", server_id)
    assert code == 1 and f"No server with a name or ID of '{server_id}' exists." in err


def test_api_errors_exit_nonzero_with_the_api_message(
        cli_cloud: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(cli_cloud, capsys, "boot", "--flavor", "2", "--image", "tiny", "slow")
    assert code == 0
    server_id = table_value(out, "id")
    # Still building: the API answers 409 with its own message.
    code, out, err = run(cli_cloud, capsys, "reboot", server_id)
    assert code == 1 and out == ""
    assert err.startswith("ERROR: ") and err.rstrip().endswith("(HTTP 409)"), err
    assert "building" in err
    code, _, err = run(cli_cloud, capsys, "boot", "--flavor", "nope", "x")
    assert code == 1 and "No flavor with a name or ID of 'nope' exists." in err


def test_another_project_cannot_see_the_server(cli_cloud: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(cli_cloud, capsys, "boot", "--flavor", "2", "--image", "tiny", "mine",
                       token="alice:project-a")
    assert code == 0
    server_id = table_value(out, "id")
    code, _, err = run(cli_cloud, capsys, "show", server_id, token="bob:project-b")
    assert code == 1 and "No server" in err
    code, out, _ = run(cli_cloud, capsys, "list", token="bob:project-b")
    assert server_id not in out
    code, out, _ = run(cli_cloud, capsys, "list", "--all-tenants")
    assert code == 0 and re.search(rf"\| {server_id} \| mine +\| project-a +\|", out), out


def test_flavor_and_image_listings(cli_cloud: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(cli_cloud, capsys, "flavor-list")
    assert code == 0 and re.search(r"\| 2 +\| m1\.small \| 2048 +\| 20 +\|", out), out
    code, out, _ = run(cli_cloud, capsys, "flavor-show", "m1.small")
    assert code == 0 and table_value(out, "vcpus") == "1"
    code, out, _ = run(cli_cloud, capsys, "image-list")
    assert code == 0 and re.search(r"\| tiny +\| ACTIVE", out), out
    code, out, _ = run(cli_cloud, capsys, "image-show", "tiny")
    assert code == 0 and table_value(out, "status") == "ACTIVE"


def test_an_explicit_microversion_is_sent(cli_cloud: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(cli_cloud, capsys, "--os-compute-api-version", "2.1", "flavor-list")
    assert code == 0 and "m1.small" in out


def test_no_credentials_is_an_error(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("OS_COMPUTE_API_URL", "OS_TOKEN", "OS_AUTH_URL"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["list"]) == 1
    assert "OS_AUTH_URL" in capsys.readouterr().err


def test_unreachable_endpoint_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["--os-compute-api-url", "http://127.0.0.1:9/v2.1", "--os-token", "a:b",
                     "--os-compute-api-version", "2.1", "list"])
    assert code == 1 and "cannot reach the compute API" in capsys.readouterr().err


# -- parsing and formatting, no server ----------------------------------------------------


def boot_args(*argv: str) -> Any:
    return cli.build_parser().parse_args(["boot", "--flavor", "1", *argv, "vm"])


def test_boot_request_carries_every_option(tmp_path: Any) -> None:
    user_data = tmp_path / "cloud-init"
    user_data.write_text("#!/bin/sh\necho hi\n")
    args = boot_args("--key-name", "k", "--nic", "net-id=n1,v4-fixed-ip=10.0.0.5",
                     "--nic", "port-id=p1", "--min-count", "2", "--max-count", "3",
                     "--availability-zone", "az1", "--hint", "group=g1", "--meta", "a=b",
                     "--user-data", str(user_data))
    body = servers.build_boot_request(args, "img", "1")
    assert body == {
        "server": {"name": "vm", "flavorRef": "1", "imageRef": "img", "key_name": "k",
                   "networks": [{"uuid": "n1", "fixed_ip": "10.0.0.5"}, {"port": "p1"}],
                   "min_count": 2, "max_count": 3, "availability_zone": "az1",
                   "metadata": {"a": "b"},
                   "user_data": "IyEvYmluL3NoCmVjaG8gaGkK"},
        "os:scheduler_hints": {"group": "g1"}}


def test_boot_asks_for_auto_networks_when_the_microversion_requires_networks() -> None:
    assert "networks" not in servers.build_boot_request(boot_args(), None, "1")["server"]
    assert servers.build_boot_request(boot_args(), None, "1", networks_required=True)[
        "server"]["networks"] == "auto"


@pytest.mark.parametrize("nic", ["none", "auto"])
def test_nic_none_and_auto_are_the_words_of_2_37(nic: str) -> None:
    assert servers.build_boot_request(boot_args("--nic", nic), None, "1")["server"][
        "networks"] == nic


@pytest.mark.parametrize("argv, message", [
    (["--nic", "auto", "--nic", "net-id=x"], "cannot be combined"),
    (["--nic", "bogus=1"], "Invalid nic argument"),
    (["--meta", "novalue"], "metadata must be key=value"),
    (["--min-count", "3", "--max-count", "2"], "max_count cannot be less than min_count"),
])
def test_bad_boot_options_are_command_errors(argv: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        servers.build_boot_request(boot_args(*argv), None, "1")


def test_tables_show_dashes_for_none_and_json_for_structures() -> None:
    out = io.StringIO()
    print_list([{"id": "1", "meta": {"b": 1}, "gone": None}], ["id", "meta", "gone"],
               ["ID", "Meta", "Gone"], out=out)
    assert '| 1  | {"b": 1} | -    |' in out.getvalue()
    out = io.StringIO()
    print_dict({"z": 1, "a": [1, 2]}, out=out)
    lines = out.getvalue().splitlines()
    assert lines[3].startswith("| a ") and "[1, 2]" in lines[3] and lines[4].startswith("| z")


def test_progress_bar_redraws_in_place_on_a_tty() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    bar = ProgressBar("Server building...", out=out)
    bar.update(10, "BUILD")
    bar.update(10, "BUILD")
    bar.update(100, "ACTIVE")
    bar.finish()
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("100% ACTIVE\n")


def test_poll_reports_error_with_the_fault() -> None:
    class Client:
        def get(self, path: str) -> dict[str, Any]:
            return {"server": {"status": "ERROR", "fault": {"message": "No valid host"}}}

    out = io.StringIO()
    with pytest.raises(CommandError, match="went to ERROR: No valid host"):
        servers.poll_server(Client(), "s1", "x", bar=ProgressBar("x", out=out))  # type: ignore[arg-type]
    assert "100% ERROR" in out.getvalue()
