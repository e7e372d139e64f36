"""Keys of ``instances.system_metadata`` that several services read and write.

Resize and migrate (the conductor writes, kumo-compute reads):
"""

OLD_FLAVOR = "old_flavor"
NEW_FLAVOR = "new_flavor"
OLD_VM_STATE = "old_vm_state"
OLD_HOST = "old_host"
OLD_NODE = "old_node"
MOVE_KEYS = (OLD_FLAVOR, NEW_FLAVOR, OLD_VM_STATE, OLD_HOST, OLD_NODE)

# The snapshot a shelved server is unshelved from (kumo-compute writes it;
# the conductor deletes the image with the server).
SHELVED_IMAGE_ID = "shelved_image_id"
