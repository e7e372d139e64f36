"""kumo-compute: runs servers on one hypervisor host through a virt driver."""
