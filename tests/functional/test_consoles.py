"""Remote consoles end to end: a console URL from the API, its token through the real
kumo-consoleauth and kumo-novncproxy (WebSocket) or kumo-xvpvncproxy (TCP) to the
guest's display, here a tiny RFB server the fake driver points every guest at."""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Iterator

import pytest

from tests.functional.harness import Cloud, stable_free_port
from tests.functional.servers import action, boot, wait_gone, wait_status
from tests.functional.test_servers import CLOUD_SETUP as _SERVERS_SETUP
from tests.unit.proxies.rfb import BANNER, open_console, read_banner, rfb_display

# Below the ephemeral range: no daemon's outgoing connection takes it meanwhile.
DISPLAY_PORT = stable_free_port()
CLOUD_OPTIONS = {"fake": {"vnc_port": DISPLAY_PORT, "spice_port": DISPLAY_PORT}}
USER = "alice:demo"


def CLOUD_SETUP(cloud: Cloud) -> None:  # noqa: N802  (a hook the conftest looks up)
    _SERVERS_SETUP(cloud)


@pytest.fixture(scope="module")
def display() -> Iterator[int]:
    with rfb_display(DISPLAY_PORT) as port:
        yield port


def _console_url(cloud: Cloud, server_id: str, protocol: str, kind: str) -> tuple[int, str]:
    status, body = cloud.api("POST", f"/servers/{server_id}/remote-consoles",
                             {"remote_console": {"protocol": protocol, "type": kind}},
                             token=USER, version="2.6")
    return status, (body["remote_console"]["url"] if status == 200 else str(body))


def _token(url: str) -> str:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    if "path" in query:  # noVNC 1.x: ?path=%3Ftoken%3D…
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(query["path"][0]).query)
    return query["token"][0]


def test_console_url_reaches_the_display_and_dies_with_the_server(
        display: int, cloud: Cloud) -> None:
    server_id = boot(cloud, "console", token=USER)["server"]["id"]
    wait_status(cloud, server_id, "ACTIVE")
    status, url = _console_url(cloud, server_id, "vnc", "novnc")
    assert status == 200, url
    token = _token(url)
    novnc = cloud.console_ports["novnc"]

    client = open_console(novnc, f"/?token={token}")
    try:
        assert read_banner(client) == BANNER
    finally:
        client.close()
    with pytest.raises(Exception, match="denied: 403"):
        open_console(novnc, "/?token=not-a-token")

    # The legacy action (2.1) and the Java client's proxy: HTTP request, then raw RFB.
    status, body = action(cloud, server_id, {"os-getVNCConsole": {"type": "xvpvnc"}}, USER)
    assert status == 200, body
    with socket.create_connection(("127.0.0.1", cloud.console_ports["xvpvnc"]),
                                  timeout=10) as sock:
        sock.sendall(f"GET /console?token={_token(body['console']['url'])} HTTP/1.1"
                     "\r\n\r\n".encode())
        reply = b""
        while not reply.endswith(BANNER):
            chunk = sock.recv(256)
            assert chunk, reply
            reply += chunk
        assert reply == b"HTTP/1.1 200 OK\r\n\r\n" + BANNER

    # A stopped guest has no display: 409, and its old tokens no longer work.
    assert action(cloud, server_id, {"os-stop": None}, USER)[0] == 202
    wait_status(cloud, server_id, "SHUTOFF")
    assert _console_url(cloud, server_id, "vnc", "novnc")[0] == 409
    with pytest.raises(Exception, match="denied: 403"):
        open_console(novnc, f"/?token={token}")

    assert action(cloud, server_id, {"os-start": None}, USER)[0] == 202
    wait_status(cloud, server_id, "ACTIVE")
    status, url = _console_url(cloud, server_id, "vnc", "novnc")
    assert status == 200, url
    assert cloud.api("DELETE", f"/servers/{server_id}", token=USER)[0] == 204
    wait_gone(cloud, server_id)
    with pytest.raises(Exception, match="denied: 403"):
        open_console(novnc, f"/?token={_token(url)}")
