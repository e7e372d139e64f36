"""Run kumo-manage as the operator runs it: a real process on a config file."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any


def manage(conf: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kumo.cmd.manage", "--config-file", str(conf), *args],
        capture_output=True, text=True, timeout=60, check=False)


def manage_json(conf: pathlib.Path, *args: str) -> Any:
    result = manage(conf, *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def synced_conf(tmp_path: pathlib.Path) -> pathlib.Path:
    """A config file on a fresh SQLite database, ``kumo-manage db sync``-ed."""
    path = tmp_path / "kumo.conf"
    path.write_text(f"[DEFAULT]\nstate_path = {tmp_path}/state\n"
                    f"[database]\nconnection = sqlite:///{tmp_path}/kumo.sqlite\n")
    assert manage(path, "db", "sync").returncode == 0
    return path
