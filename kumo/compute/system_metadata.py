"""Keys of ``instances.system_metadata`` that several services read and write.

Resize and migrate (the conductor writes, kumo-compute reads):
"""

OLD_FLAVOR = "old_flavor"
NEW_FLAVOR = "new_flavor"
OLD_VM_STATE = "old_vm_state"
OLD_HOST = "old_host"
OLD_NODE = "old_node"
# Where the destination finds the disks the source host kept (JSON {"host", "path"};
# the source's virt driver writes it, see kumo.virt.libvirt.resize).
RESIZE_SOURCE_DISKS = "resize_source_disks"
MOVE_KEYS = (OLD_FLAVOR, NEW_FLAVOR, OLD_VM_STATE, OLD_HOST, OLD_NODE, RESIZE_SOURCE_DISKS)

# The snapshot a shelved server is unshelved from (kumo-compute writes it;
# the conductor deletes the image with the server).
SHELVED_IMAGE_ID = "shelved_image_id"
