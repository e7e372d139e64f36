"""The libvirt driver's console addresses on a real QEMU (TCG) guest: the VNC port read
from the live domain XML answers an RFB banner; a stopped guest has none."""

from __future__ import annotations

import pathlib
import socket
import uuid

import pytest

pytest.importorskip("libvirt")

from kumo import exception  # noqa: E402
from kumo.image import local  # noqa: E402
from kumo.virt.libvirt import virt_type  # noqa: E402
from tests.functional.test_libvirt_driver import (  # noqa: E402,F401  (fixtures)
    GUEST_MARKER,
    HOST,
    IMAGE_META,
    ctxt,
    image_records,
    make_instance,
    real_driver,
)


@pytest.mark.timeout(120)
def test_vnc_and_spice_consoles_of_a_real_guest(real_driver, ctxt,  # noqa: F811
                                                tmp_path: pathlib.Path) -> None:
    store = local.LocalStore(tmp_path / "images")
    image = tmp_path / "boot.img"
    image.write_bytes(virt_type.boot_sector(GUEST_MARKER))
    image_id = str(uuid.uuid4())
    store.write_file(image_id, image)
    instance = make_instance(image_ref=image_id, memory_mb=64)
    real_driver.spawn(ctxt, instance, dict(IMAGE_META, id=image_id), [], HOST)

    vnc = real_driver.get_vnc_console(ctxt, instance)
    with socket.create_connection((vnc["host"], vnc["port"]), timeout=10) as display:
        assert display.recv(12).startswith(b"RFB ")
    spice = real_driver.get_spice_console(ctxt, instance)
    assert spice["port"] not in (vnc["port"], None)

    real_driver.power_off(ctxt, instance)
    with pytest.raises(exception.ConsoleTypeUnavailable):
        real_driver.get_vnc_console(ctxt, instance)
    real_driver.destroy(ctxt, instance)
