"""A real glance-api for tests: SQLite, the file store, no Keystone.

Glance (an optional test dependency: the ``test`` extra) runs as a WSGI
application (``glance.wsgi.api``) under :mod:`wsgiref` in a process of its
own; its paste pipeline without auth gives every request an admin context,
so kumo's requests (any token) are answered as an admin's. wsgiref does not
decode a chunked request body (how keystoneauth1 streams an upload), so the
server here does, before Glance reads it.

``python -m tests.functional.glance_api CONFIG_DIR PORT`` is the server itself.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

START_BOUND = 60
# Glance's rules that need the admin role (the unauthenticated context has none).
ADMIN_RULES = ("publicize_image", "communitize_image", "add_member", "modify_member",
               "get_member", "get_members", "delete_member", "delete_image", "modify_image",
               "get_image", "get_images", "add_image", "upload_image", "download_image")


def unavailable_reason() -> str | None:
    """Why a real glance-api cannot run here (None: it can)."""
    if importlib.util.find_spec("glance") is None:
        return "glance is not installed (pip install -e '.[test]')"
    if not (Path(sys.executable).parent / "glance-manage").exists():
        return "glance-manage is not installed next to this Python"
    return None


class GlanceAPI:
    """One glance-api on loopback ``port``, its files under ``root``."""

    def __init__(self, root: Path, port: int, image_size_cap: int | None = None) -> None:
        self.root = root
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.config_dir = root / "etc"
        self.log_path = root / "glance-api.log"
        self.image_size_cap = image_size_cap
        self._process: subprocess.Popen[bytes] | None = None

    def _write_config(self) -> None:
        import glance

        paste = Path(sys.executable).parent.parent / "etc" / "glance" / "glance-api-paste.ini"
        if not paste.exists():  # an install without data files: Glance's own copy
            paste = Path(glance.__file__).parent.parent / "etc" / "glance-api-paste.ini"
        self.config_dir.mkdir(parents=True, exist_ok=True)
        lines = [
            "[DEFAULT]", "enabled_backends = fs:file", f"log_file = {self.log_path}",
            *([f"image_size_cap = {self.image_size_cap}"] if self.image_size_cap else []),
            "[database]", f"connection = sqlite:///{self.root / 'glance.sqlite'}",
            "[glance_store]", "default_backend = fs",
            "[fs]", f"filesystem_store_datadir = {self.root / 'images'}",
            "[os_glance_staging_store]", f"filesystem_store_datadir = {self.root / 'staging'}",
            "[os_glance_tasks_store]", f"filesystem_store_datadir = {self.root / 'tasks'}",
            # The paste pipeline without auth (flavor unset).
            "[paste_deploy]", f"config_file = {paste}",
            # Glance's legacy rules: the unauthenticated admin context may do anything.
            "[oslo_policy]", "enforce_new_defaults = False", "enforce_scope = False",
            f"policy_file = {self.config_dir / 'policy.yaml'}",
        ]
        (self.config_dir / "glance-api.conf").write_text("\n".join(lines) + "\n")
        # ... and the rules kept for the admin role, which that context lacks.
        (self.config_dir / "policy.yaml").write_text("".join(
            f'"{rule}": "@"\n' for rule in ADMIN_RULES))

    def start(self) -> None:
        self._write_config()
        manage = Path(sys.executable).parent / "glance-manage"
        subprocess.run([str(manage), "--config-file", str(self.config_dir / "glance-api.conf"),
                        "db_sync"], check=True, capture_output=True, timeout=120)
        with open(self.root / "server.out", "wb") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.functional.glance_api", str(self.config_dir),
                 str(self.port)], stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=Path(__file__).resolve().parents[2])
        deadline = time.monotonic() + START_BOUND
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"glance-api exited: {self.log_tail()}")
            with contextlib.suppress(OSError):
                if self.request("GET", "/v2/images")[0] == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"glance-api did not answer in {START_BOUND}s: {self.log_tail()}")

    def start_in_background(self) -> None:
        """:meth:`start` in a thread (a cloud can start meanwhile); :meth:`ready` waits."""
        def run() -> None:
            try:
                self.start()
            except BaseException as error:  # noqa: BLE001  (re-raised by ready())
                self._start_error = error

        self._start_error: BaseException | None = None
        self._starter = threading.Thread(target=run, daemon=True)
        self._starter.start()

    def ready(self) -> GlanceAPI:
        """Wait for :meth:`start_in_background`; its error, if it failed."""
        self._starter.join()
        if self._start_error is not None:
            raise self._start_error
        return self

    def stop(self) -> None:
        if getattr(self, "_starter", None) is not None:
            self._starter.join()
        if self._process is None or self._process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for path in (self.root / "server.out", self.log_path):
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return text

    # -- a plain HTTP client of Glance v2 (the test's own view) ----------------------------

    def request(self, method: str, path: str, body: Any = None,
                data: bytes | None = None) -> tuple[int, Any]:
        headers = {}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = ("application/openstack-images-v2.1-json-patch"
                                       if method == "PATCH" else "application/json")
        elif data is not None:
            headers["Content-Type"] = "application/octet-stream"
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        if path.endswith("/file") and method == "GET" and status == 200:
            return status, raw
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def create_image(self, data: bytes, **values: Any) -> dict[str, Any]:
        """An active image with ``data`` (Glance's defaults: raw, bare, public)."""
        spec = {"disk_format": "raw", "container_format": "bare", "visibility": "public",
                **values}
        status, image = self.request("POST", "/v2/images", spec)
        assert status == 201, image
        status, body = self.request("PUT", f"/v2/images/{image['id']}/file", data=data)
        assert status == 204, body
        return self.image(image["id"])

    def image(self, image_id: str) -> dict[str, Any] | None:
        """The image, or None when Glance has none with this id."""
        status, body = self.request("GET", f"/v2/images/{image_id}")
        if status == 404:
            return None
        assert status == 200, body
        return body

    def images(self, **query: str) -> list[dict[str, Any]]:
        suffix = "&".join(f"{key}={value}" for key, value in query.items())
        status, body = self.request("GET", "/v2/images" + (f"?{suffix}" if suffix else ""))
        assert status == 200, body
        return body["images"]

    def data(self, image_id: str) -> bytes:
        status, body = self.request("GET", f"/v2/images/{image_id}/file")
        assert status == 200, body
        return body


def _serve(config_dir: str, port: int) -> None:
    from socketserver import ThreadingMixIn
    from wsgiref import simple_server

    os.environ["OS_GLANCE_CONFIG_DIR"] = config_dir
    from glance.wsgi.api import application  # reads the config dir named above

    def dechunked(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            stream, body = environ["wsgi.input"], b""
            while size := int(stream.readline().split(b";")[0].strip() or b"0", 16):
                body += stream.read(size)
                stream.readline()
            stream.readline()
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            del environ["HTTP_TRANSFER_ENCODING"]
        return application(environ, start_response)

    class Server(ThreadingMixIn, simple_server.WSGIServer):
        daemon_threads = True

    class Quiet(simple_server.WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    httpd = simple_server.make_server("127.0.0.1", port, dechunked, server_class=Server,
                                      handler_class=Quiet)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    httpd.serve_forever()


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]))
