"""The libvirt virt driver: KVM guests, or plain QEMU (TCG) where KVM does not run them."""
