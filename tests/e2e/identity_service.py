"""A real Keystone on loopback for the e2e tests: SQLite, fernet, bootstrap, served
from its own venv (tools/keystone_venv.sh), and kumo-api configured against it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests.functional.harness import Cloud, free_port, tail, wait_for

REPO = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "e2e-admin-secret"
REGION = "RegionOne"
INSTALL_TIMEOUT = 900


def keystone_venv() -> Path:
    """The Keystone venv, installed on first use (cached outside the work tree)."""
    result = subprocess.run(["bash", str(REPO / "tools" / "keystone_venv.sh")],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=INSTALL_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError(f"tools/keystone_venv.sh failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


@dataclass
class Keystone:
    """A running Keystone: its URL, its process and the files it keeps."""

    root: Path
    venv: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v3"

    @property
    def config(self) -> Path:
        return self.root / "keystone.conf"

    @property
    def log(self) -> Path:
        return self.root / "keystone.log"

    def manage(self, *args: str) -> None:
        result = subprocess.run(
            [str(self.venv / "bin" / "keystone-manage"), "--config-file", str(self.config),
             *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"keystone-manage {' '.join(args)}:\n{result.stderr[-3000:]}")

    def setup(self) -> None:
        """keystone.conf, db_sync, fernet and credential keys, bootstrap of admin."""
        self.config.write_text(
            "[DEFAULT]\n"
            f"log_file = {self.log}\n"
            "[database]\n"
            f"connection = sqlite:///{self.root / 'keystone.sqlite'}\n"
            "[token]\nprovider = fernet\n"
            f"[fernet_tokens]\nkey_repository = {self.root / 'fernet-keys'}\n"
            f"[fernet_receipts]\nkey_repository = {self.root / 'fernet-keys'}\n"
            f"[credential]\nkey_repository = {self.root / 'credential-keys'}\n")
        user = ["--keystone-user", "root", "--keystone-group", "root"]
        self.manage("db_sync")
        self.manage("fernet_setup", *user)
        self.manage("credential_setup", *user)
        self.manage("bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
                    "--bootstrap-admin-url", self.url, "--bootstrap-internal-url", self.url,
                    "--bootstrap-public-url", self.url, "--bootstrap-region-id", REGION)

    def start(self) -> None:
        with open(self.root / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [str(self.venv / "bin" / "python"), str(Path(__file__).with_name(
                    "keystone_server.py")), str(self.port), str(self.config)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env={k: v for k, v in os.environ.items()
                                             if not k.startswith("OS_")})

        def answers() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"keystone exited:\n{tail(self.root / 'server.log')}")
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url, timeout=2):
                return True
            return False

        wait_for(answers, 60, interval=0.3, message="keystone answering on " + self.url)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def session(self, username: str = "admin", password: str = ADMIN_PASSWORD,
                project: str = "admin") -> ks_session.Session:
        return ks_session.Session(auth=v3.Password(
            auth_url=self.url, username=username, password=password, project_name=project,
            user_domain_name="Default", project_domain_name="Default"))


def start_keystone_api(cloud: Cloud, keystone: Keystone, port: int) -> subprocess.Popen[bytes]:
    """A second kumo-api of ``cloud`` on ``port`` with auth_strategy=keystone."""
    overlay = cloud.root / "kumo-keystone.conf"
    overlay.write_text(
        f"[api]\nport = {port}\nauth_strategy = keystone\n"
        "[keystone_authtoken]\n"
        f"www_authenticate_uri = {keystone.url}\n"
        f"auth_url = {keystone.url}\n"
        "auth_type = password\n"
        "username = admin\n"
        f"password = {ADMIN_PASSWORD}\n"
        "project_name = admin\n"
        "user_domain_name = Default\n"
        "project_domain_name = Default\n"
        f"region_name = {REGION}\n")
    process = cloud.spawn("kumo-api", log_path=cloud.log_dir / "kumo-api-keystone.log",
                          config_files=[cloud.config_path, overlay])

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError("kumo-api (keystone) exited:\n"
                               + tail(cloud.log_dir / "kumo-api-keystone.log"))
        with contextlib.suppress(OSError), urllib.request.urlopen(
                f"http://127.0.0.1:{port}/", timeout=2):
            return True
        return False

    wait_for(answers, 60, interval=0.3, message="kumo-api with keystone auth answering")
    return process


def openstack(*args: str, env: dict[str, str], timeout: float = 120
              ) -> subprocess.CompletedProcess[str]:
    """The `openstack` CLI with ``env`` (the OS_* password variables) and nothing else."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    return subprocess.run([str(Path(sys.executable).parent / "openstack"), *args],
                          env={**base, **env}, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


__all__ = ["Keystone", "free_port", "keystone_venv", "openstack", "start_keystone_api"]
