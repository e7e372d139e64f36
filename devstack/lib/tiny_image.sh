#!/usr/bin/env bash
# A tiny bootable test guest from Debian packages only: a Linux kernel and a
# busybox initramfs whose /init prints a marker line on the serial console
# (ttyS0) and idles. It boots in seconds under plain QEMU (TCG), so real
# guests fit in CI; an ACPI power-button press powers it off (soft reboot
# and stop work as on a real guest).
#
#   devstack/lib/tiny_image.sh [DIR]      build (or reuse) it; prints DIR
#   source devstack/lib/tiny_image.sh     defines build_tiny_image DIR
#
# DIR (default $KUMO_TINY_IMAGE_DIR, else /var/cache/kumo/tiny-image) gets:
#   vmlinuz    the kernel (the aki image)
#   initrd.gz  the busybox initramfs (the ari image)
#   disk.raw   a 1 MiB blank raw disk (the ami image: kernel_id/ramdisk_id
#              point at the two above; the guest never reads it)
#   stamp      what it was built from; a rebuild happens only when it changes
#
# Needs: apt-get (network access to the Debian mirror the first time),
# dpkg-deb, python3, gzip. No root and no cpio: the archive (with its
# /dev/console node) is written by python3.
# KUMO_TINY_KERNEL_PACKAGE: the kernel package (default: what
# linux-image-amd64 depends on, e.g. linux-image-6.1.0-56-amd64).

# Printed by the guest's /init once it runs; tests and docs look for it.
# shellcheck disable=SC2034  # used by the scripts that source this file
KUMO_TINY_MARKER=KUMO-TINY-GUEST-UP

_tiny_log() {
    printf '%s tiny-image: %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

# The kernel package the linux-image-amd64 metapackage stands for.
_tiny_kernel_package() {
    if [[ -n ${KUMO_TINY_KERNEL_PACKAGE:-} ]]; then
        printf '%s\n' "$KUMO_TINY_KERNEL_PACKAGE"
        return 0
    fi
    local pkg
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1)
    if [[ -z $pkg ]]; then
        # A fresh machine may have no package lists yet.
        apt-get -qq update >&2 || return 1
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1)
    fi
    [[ -n $pkg ]] || return 1
    printf '%s\n' "$pkg"
}

# /init of the guest. Runs as PID 1 from the initramfs, so it must never exit.
_tiny_init_script() {
    cat <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The ACPI power button (libvirt's shutdown presses it) and the event
# devices to read it from.
insmod /lib/evdev.ko 2>/dev/null
insmod /lib/button.ko 2>/dev/null
for event in /sys/class/input/event*; do
    if grep -q "Power Button" "\$event/device/name" 2>/dev/null; then
        exec 3<"/dev/input/\${event##*/}"
        ( head -c 24 <&3 >/dev/null
          echo "KUMO-TINY-GUEST-POWER-BUTTON: powering off"
          poweroff -f ) &
    fi
done
# Printed once the power button is watched: from now on a shutdown works.
echo "$KUMO_TINY_MARKER kernel \$(uname -r) uptime \$(cut -d' ' -f1 /proc/uptime)s"
while true; do sleep 3600; done
EOF
}

# Write a gzipped newc cpio archive of directory $1 to $2, adding the
# /dev/console device node the kernel opens for /init's output.
_tiny_pack_initramfs() {
    python3 - "$1" "$2" <<'EOF'
import gzip, os, stat, sys

root, target = sys.argv[1], sys.argv[2]
inode = [0]

def header(name, mode, size, rdev=(0, 0), nlink=1):
    inode[0] += 1
    fields = [inode[0], mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
    return b"070701" + b"".join(b"%08X" % f for f in fields) + name.encode() + b"\0"

def pad(out, length):
    out.write(b"\0" * (-length % 4))

with gzip.open(target, "wb", compresslevel=6) as out:
    def entry(name, mode, data=b"", rdev=(0, 0)):
        head = header(name, mode, len(data), rdev, 2 if stat.S_ISDIR(mode) else 1)
        out.write(head)
        pad(out, len(head))
        out.write(data)
        pad(out, len(data))
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        if rel != ".":
            entry(rel, stat.S_IFDIR | 0o755)
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            name = os.path.normpath(os.path.join(rel, name))
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                entry(name, stat.S_IFLNK | 0o777, os.readlink(path).encode())
            else:
                with open(path, "rb") as data:
                    entry(name, stat.S_IFREG | (info.st_mode & 0o777), data.read())
    entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    entry("TRAILER!!!", 0)
EOF
}

# Build the tiny guest into $1 unless a build of the same inputs is there.
build_tiny_image() {
    local dir=${1:-${KUMO_TINY_IMAGE_DIR:-/var/cache/kumo/tiny-image}}
    local kernel_pkg stamp_text work
    mkdir -p "$dir" || return 1
    dir=$(cd "$dir" && pwd)
    kernel_pkg=$(_tiny_kernel_package) || {
        _tiny_log "cannot find the kernel package (apt-cache depends linux-image-amd64)"
        return 1
    }
    stamp_text="$kernel_pkg busybox-static init:$(_tiny_init_script | sha256sum | cut -c1-16)"
    if [[ -f $dir/stamp && $(<"$dir/stamp") == "$stamp_text" && -s $dir/vmlinuz &&
        -s $dir/initrd.gz && -f $dir/disk.raw ]]; then
        _tiny_log "reusing $dir ($stamp_text)"
        printf '%s\n' "$dir"
        return 0
    fi
    _tiny_log "building in $dir from $kernel_pkg and busybox-static"
    work=$(mktemp -d "$dir/.build.XXXXXX") || return 1
    (
        set -e
        cd "$work"
        # _apt cannot write into a private directory: download as the caller.
        apt-get -q -o APT::Sandbox::User="$(id -un)" download "$kernel_pkg" busybox-static >apt.log 2>&1 ||
            { cat apt.log >&2; exit 1; }
        mkdir kernel busybox root
        dpkg-deb -x "$kernel_pkg"_*.deb kernel
        dpkg-deb -x busybox-static_*.deb busybox
        mkdir -p root/bin root/lib root/proc root/sys root/dev root/tmp
        cp busybox/bin/busybox root/bin/busybox
        ln -s busybox root/bin/sh
        for module in button evdev; do
            path=$(find kernel/lib/modules -name "$module.ko" | head -n 1)
            if [[ -n $path ]]; then
                cp "$path" "root/lib/$module.ko"
            fi
        done
        _tiny_init_script >root/init
        chmod 755 root/init root/bin/busybox
        _tiny_pack_initramfs root initrd.gz
        cp kernel/boot/vmlinuz-* vmlinuz
        head -c 1048576 /dev/zero >disk.raw
        mv -f vmlinuz initrd.gz disk.raw "$dir/"
    ) || {
        rm -rf "$work"
        _tiny_log "build failed"
        return 1
    }
    rm -rf "$work"
    printf '%s\n' "$stamp_text" >"$dir/stamp"
    _tiny_log "built $(du -h "$dir/vmlinuz" | cut -f1) kernel, $(du -h "$dir/initrd.gz" | cut -f1) initramfs"
    printf '%s\n' "$dir"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    build_tiny_image "${1:-}"
fi
