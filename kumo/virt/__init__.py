"""Hypervisor drivers behind one interface (:mod:`kumo.virt.driver`)."""

from __future__ import annotations

import importlib

from kumo import exception
from kumo.virt import driver

# Driver name (the [compute] compute_driver choices) -> "module:class".
DRIVERS = {
    "fake": "kumo.virt.fake.driver:FakeDriver",
    # Imported only when chosen: libvirt-python is an optional extra.
    "libvirt": "kumo.virt.libvirt.driver:LibvirtDriver",
}


def load_driver(name: str) -> driver.ComputeDriver:
    """Instantiate the virt driver called ``name``."""
    try:
        path = DRIVERS[name]
    except KeyError:
        raise exception.ConfigError(
            reason=f"compute_driver {name!r} is not available in this kumo; "
            f"available: {', '.join(sorted(DRIVERS))}"
        ) from None
    module_name, class_name = path.split(":")
    return getattr(importlib.import_module(module_name), class_name)()
