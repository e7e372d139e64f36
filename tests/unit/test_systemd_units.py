"""etc/systemd: one well-formed unit per daemon console script, and nothing else."""

from __future__ import annotations

import configparser
import shlex
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT_DIR = ROOT / "etc" / "systemd"
# Console scripts that are tools, not daemons: they get no unit.
NOT_DAEMONS = {"kumo-manage", "kumo"}


def _scripts() -> dict[str, str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["scripts"]


def _daemons() -> list[str]:
    return sorted(set(_scripts()) - NOT_DAEMONS)


def _units() -> list[Path]:
    return sorted(UNIT_DIR.glob("*.service"))


def _service_section(unit: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(unit)
    return parser["Service"]


def test_every_daemon_has_a_unit() -> None:
    daemons = _daemons()
    assert daemons, "no daemon console scripts found in pyproject.toml"
    missing = [d for d in daemons if not (UNIT_DIR / f"{d}.service").is_file()]
    assert missing == []


def test_there_is_no_unit_without_a_daemon() -> None:
    assert sorted(unit.stem for unit in _units()) == _daemons()


@pytest.mark.parametrize("unit", _units(), ids=lambda p: p.name)
def test_unit_runs_its_console_script_with_the_config_file(unit: Path) -> None:
    argv = shlex.split(_service_section(unit)["ExecStart"])
    script = Path(argv[0]).name
    assert script in _scripts()
    assert script == unit.stem
    assert "--config-file" in argv
    config_file = argv[argv.index("--config-file") + 1]
    assert config_file == "/etc/kumo/kumo.conf"


@pytest.mark.parametrize("unit", _units(), ids=lambda p: p.name)
def test_unit_restarts_on_failure_as_a_named_user(unit: Path) -> None:
    service = _service_section(unit)
    assert service.get("Restart") == "on-failure"
    assert service.get("User")
    assert service.get("Type") in {"notify", "simple"}
