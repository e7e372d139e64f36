"""Configuration: option registration, config files, and the generated sample."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest
from oslo_config import cfg

from kumo import conf  # noqa: F401  (registers kumo's options)
from kumo.conf import opts

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def config() -> cfg.ConfigOpts:
    private = cfg.ConfigOpts()
    for module in conf._MODULES:
        module.register_opts(private)
    return private


def test_every_group_is_listed_for_the_generator() -> None:
    groups = {getattr(group, "name", group) for group, _ in opts.list_opts()}
    assert {"DEFAULT", "database", "api", "compute", "vnc", "spice",
            "upgrade_levels"} <= groups


def test_config_file_and_config_dir_are_read(config: cfg.ConfigOpts,
                                             tmp_path: pathlib.Path) -> None:
    main = tmp_path / "kumo.conf"
    main.write_text("[DEFAULT]\nreport_interval = 3\n[api]\nport = 9999\n")
    conf_d = tmp_path / "kumo.conf.d"
    conf_d.mkdir()
    (conf_d / "50-db.conf").write_text("[database]\nconnection = sqlite:////x.db\n")
    config(["--config-file", str(main), "--config-dir", str(conf_d)], project="kumo")
    assert config.report_interval == 3
    assert config.api.port == 9999
    assert config.database.connection == "sqlite:////x.db"


def test_database_connection_defaults_under_state_path(config: cfg.ConfigOpts) -> None:
    config([], project="kumo", default_config_files=[])
    config.set_override("state_path", "/srv/kumo")
    assert config.database.connection == "sqlite:////srv/kumo/kumo.sqlite"


def test_invalid_value_is_refused(config: cfg.ConfigOpts, tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("[DEFAULT]\nrpc_executor = gevent\n")
    config(["--config-file", str(bad)], project="kumo")
    with pytest.raises(cfg.ConfigFileValueError):
        _ = config.rpc_executor


def test_sample_config_is_current(tmp_path: pathlib.Path) -> None:
    generated = tmp_path / "kumo.conf.sample"
    generator = pathlib.Path(sys.executable).parent / "oslo-config-generator"
    subprocess.run(
        [str(generator), "--config-file", str(REPO / "etc/kumo/kumo-config-generator.conf"),
         "--output-file", str(generated)],
        check=True, cwd=REPO, capture_output=True,
    )
    committed = (REPO / "etc/kumo/kumo.conf.sample").read_text()
    assert generated.read_text() == committed, (
        "etc/kumo/kumo.conf.sample is stale; regenerate it with "
        "oslo-config-generator --config-file etc/kumo/kumo-config-generator.conf"
    )
