"""[libvirt] options of the libvirt virt driver (KVM, or plain QEMU/TCG)."""

from oslo_config import cfg

libvirt_group = cfg.OptGroup("libvirt", title="Libvirt virt driver options")

opts = [
    cfg.StrOpt("connection_uri", default="qemu:///system",
               help="Libvirt connection URI of kumo-compute (one managed connection, "
                    "reopened when libvirtd restarts). test:///default is libvirt's "
                    "in-process test driver."),
    cfg.StrOpt(
        "virt_type",
        default="auto",
        choices=[
            ("auto", "kvm when a probe guest really runs under KVM, qemu otherwise "
                     "(/dev/kvm existing proves nothing under nested virtualisation)"),
            ("kvm", "hardware acceleration through /dev/kvm"),
            ("qemu", "plain QEMU software emulation (TCG)"),
        ],
        help="Domain type of the guests."),
    cfg.FloatOpt("kvm_probe_timeout", default=10.0, min=1.0,
                 help="Seconds virt_type=auto waits for the KVM probe guest to print "
                      "its marker before it falls back to qemu."),
    cfg.StrOpt("kvm_probe_kernel", default=None,
               help="Linux kernel the virt_type=auto probe boots under KVM (it must "
                    "print its banner on the serial port); unset: the host's newest "
                    "/boot/vmlinuz-*. Without any, auto chooses qemu."),
    cfg.StrOpt("instances_path", default="$state_path/instances",
               help="Directory of the guests' disks and console logs (one "
                    "sub-directory per instance uuid)."),
    cfg.StrOpt("base_images_path", default="$instances_path/_base",
               help="Per-host cache of downloaded images, the backing files of the "
                    "guests' qcow2 overlays."),
    cfg.IntOpt("remove_unused_base_images_age", default=86400, min=0,
               help="Seconds an unused cached base image is kept before the cache "
                    "cleaner removes it."),
    cfg.IntOpt("image_cache_clean_interval", default=2400, min=0,
               help="Seconds between two runs of the base-image cache cleaner in "
                    "kumo-compute; 0 disables it."),
    cfg.BoolOpt("vnc_enabled", default=True, help="Give guests a VNC display."),
    cfg.StrOpt("vnc_listen", default="127.0.0.1",
               help="Address the guests' VNC displays listen on."),
    cfg.BoolOpt("spice_enabled", default=True, help="Give guests a SPICE display."),
    cfg.StrOpt("spice_listen", default="127.0.0.1",
               help="Address the guests' SPICE displays listen on."),
    cfg.IntOpt("soft_reboot_timeout", default=120, min=0,
               help="Seconds a soft reboot waits for the guest to shut down after "
                    "the ACPI request before it resets the guest (hard reboot)."),
    cfg.IntOpt("console_output_max_bytes", default=100 * 1024, min=1,
               help="At most this many bytes (the end) of the serial console log are "
                    "returned as console output."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(libvirt_group)
    conf.register_opts(opts, group=libvirt_group)


def list_opts() -> dict:
    return {libvirt_group: opts}
