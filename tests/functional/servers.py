"""Helpers of the servers' functional tests: set up flavors and an image, boot,
list, act on and wait for servers through plain HTTP, read the nodes' usage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.functional.harness import Cloud, wait_for

ACTIVE_BOUND = 60
ADMIN = "admin:admin"
# (name, id, ram MB, vcpus, disk GB)
SMALL = ("m1.small", "2", 2048, 1, 20)


def create_flavors(cloud: Cloud, *flavors: tuple[str, str, int, int, int]) -> None:
    """Create ``flavors``, each (name, id, ram MB, vcpus, disk GB), with kumo-manage."""
    for name, flavor_id, ram, vcpus, disk in flavors:
        cloud.manage("flavor", "create", name, "--id", flavor_id, "--ram", str(ram),
                     "--vcpus", str(vcpus), "--disk", str(disk))


def create_flavors_and_image(cloud: Cloud, *flavors: tuple[str, str, int, int, int]) -> None:
    """Create ``flavors`` and the public image ``tiny`` (a CLOUD_SETUP's work)."""
    create_flavors(cloud, *flavors)
    image = Path(cloud.root) / "tiny.img"
    image.write_bytes(b"kumo test image\n" * 64)
    cloud.manage("image", "import", str(image), "--name", "tiny", "--disk-format", "raw",
                 "--public")


def image_id(cloud: Cloud, name: str = "tiny") -> str:
    """The ID of the image ``name`` (through the image proxy of microversion 2.1)."""
    status, body = cloud.api("GET", "/images")
    assert status == 200, body
    return next(image["id"] for image in body["images"] if image["name"] == name)


def boot(cloud: Cloud, name: str, flavor: str = "2", count: int = 1,
         token: str = ADMIN) -> dict[str, Any]:
    request: dict[str, Any] = {"name": name, "imageRef": image_id(cloud), "flavorRef": flavor}
    if count > 1:
        request.update(min_count=count, max_count=count, return_reservation_id=True)
    status, body = cloud.api("POST", "/servers", {"server": request}, token=token)
    assert status == 202, body
    return body


def list_servers(cloud: Cloud, **query: str) -> list[dict[str, Any]]:
    suffix = "&".join(f"{key}={value}" for key, value in query.items())
    status, body = cloud.api("GET", "/servers/detail" + (f"?{suffix}" if suffix else ""))
    assert status == 200, body
    return body["servers"]


def action(cloud: Cloud, server_id: str, body: Any, token: str = ADMIN) -> tuple[int, Any]:
    return cloud.api("POST", f"/servers/{server_id}/action", body, token=token)


def wait_status(cloud: Cloud, server_id: str, wanted: str,
                timeout: float = ACTIVE_BOUND) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def reached() -> dict[str, Any] | None:
        status, body = cloud.api("GET", f"/servers/{server_id}")
        assert status == 200, body
        seen.update(body["server"])
        return body["server"] if body["server"]["status"] == wanted else None

    return wait_for(reached, timeout, interval=0.3,
                    message=lambda: f"server {server_id} {wanted}, last seen {seen}\n"
                                    f"{cloud.log_tails(['kumo-conductor', 'kumo-compute'])}")


def wait_gone(cloud: Cloud, server_id: str, timeout: float = ACTIVE_BOUND) -> None:
    wait_for(lambda: cloud.api("GET", f"/servers/{server_id}")[0] == 404, timeout,
             interval=0.3, message=lambda: f"server {server_id} deleted")


def node_usage(cloud: Cloud) -> dict[str, tuple[int, int, int]]:
    """(vcpus, memory MB, disk GB) used per node of the cloud's kumo-compute."""
    rows = cloud.query("SELECT hypervisor_hostname, vcpus_used, memory_mb_used, local_gb_used "
                       "FROM compute_nodes WHERE host = ? AND deleted = 0", cloud.host)
    return {str(name): (int(v), int(m), int(d)) for name, v, m, d in rows}


def wait_nodes(cloud: Cloud, count: int) -> None:
    wait_for(lambda: len(node_usage(cloud)) == count, 30,
             message=f"{count} fake nodes reported")


def delete_server(cloud: Cloud, server_id: str, token: str = ADMIN) -> None:
    """DELETE the server, which must answer 204 (it may take a while to go)."""
    status, body = cloud.api("DELETE", f"/servers/{server_id}", token=token)
    assert status == 204, body


def delete_all_and_wait(cloud: Cloud, servers: list[dict[str, Any]]) -> None:
    """Delete every server, then wait until each is gone."""
    for server in servers:
        delete_server(cloud, server["id"])
    for server in servers:
        wait_gone(cloud, server["id"])


def settled_servers_cleaned_up(cloud: Cloud, servers: list[dict[str, Any]]) -> None:
    """After a fault: every server in ERROR says why; deleting them all gives every
    node's usage back."""
    for server in servers:
        if server["status"] == "ERROR":
            assert server["fault"]["message"], server
    delete_all_and_wait(cloud, servers)
    wait_for(lambda: set(node_usage(cloud).values()) == {(0, 0, 0)}, 30,
             message=lambda: f"usage back to zero: {node_usage(cloud)}")
