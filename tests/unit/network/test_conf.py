"""[network] options."""

from __future__ import annotations

import pathlib

import pytest
from oslo_config import cfg

from kumo.conf import network, opts


@pytest.fixture
def config() -> cfg.ConfigOpts:
    private = cfg.ConfigOpts()
    private.register_opt(cfg.StrOpt("state_path", default="/var/lib/kumo"))
    network.register_opts(private)
    return private


def test_network_group_is_listed_for_the_generator() -> None:
    groups = {getattr(group, "name", group) for group, _ in opts.list_opts()}
    assert "network" in groups


def test_defaults(config: cfg.ConfigOpts) -> None:
    config([], project="kumo", default_config_files=[])
    assert config.network.network_manager == "flatdhcp"
    assert config.network.networks_path == "/var/lib/kumo/networks"
    assert config.network.metadata_port is None  # [api] metadata_port then


def test_unknown_manager_is_refused(config: cfg.ConfigOpts, tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("[network]\nnetwork_manager = neutron\n")
    config(["--config-file", str(bad)], project="kumo")
    with pytest.raises(cfg.ConfigFileValueError):
        _ = config.network.network_manager
