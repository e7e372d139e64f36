# shellcheck shell=bash
# What a new cloud needs before the first server: the usual flavors and a
# small default image. Sourced by stack.sh after `kumo-manage db sync`; every
# function is idempotent and costs one kumo-manage call when nothing is missing.

# name:flavorid:ram_mb:vcpus:disk_gb — Nova's classic m1 flavors.
KUMO_DEFAULT_FLAVORS=(
    m1.tiny:1:512:1:1
    m1.small:2:2048:1:20
    m1.medium:3:4096:2:40
    m1.large:4:8192:4:80
    m1.xlarge:5:16384:8:160
)
KUMO_DEFAULT_IMAGE_NAME=${KUMO_DEFAULT_IMAGE_NAME:-cirros}
KUMO_DEFAULT_IMAGE_MB=${KUMO_DEFAULT_IMAGE_MB:-1}

# Print, one per line, the values of field "$1" in the JSON list on stdin.
_json_field() {
    "$KUMO_VENV/bin/python" -c '
import json, sys
for row in json.loads(sys.stdin.read() or "[]"):
    print(row[sys.argv[1]])
' "$1"
}

# Create each of KUMO_DEFAULT_FLAVORS whose name is not taken yet.
ensure_default_flavors() {
    local conf=$1 log_file=$2 existing spec name id ram vcpus disk
    existing=$("$MANAGE" --config-file "$conf" flavor list --format json 2>>"$log_file" |
        _json_field name) || die "kumo-manage flavor list failed; see $log_file"
    for spec in "${KUMO_DEFAULT_FLAVORS[@]}"; do
        IFS=: read -r name id ram vcpus disk <<<"$spec"
        if grep -qxF "$name" <<<"$existing"; then
            continue
        fi
        log "creating flavor $name"
        "$MANAGE" --config-file "$conf" flavor create "$name" --id "$id" --ram "$ram" \
            --vcpus "$vcpus" --disk "$disk" >>"$log_file" 2>&1 ||
            die "kumo-manage flavor create $name failed; see $log_file"
    done
}

# Import a small public raw image named KUMO_DEFAULT_IMAGE_NAME unless one exists.
# Its bytes are zeros: enough for the fake driver, which never boots them.
ensure_default_image() {
    local conf=$1 log_file=$2 state_dir=$3 file
    if "$MANAGE" --config-file "$conf" image list --format json 2>>"$log_file" |
        _json_field name | grep -qxF "$KUMO_DEFAULT_IMAGE_NAME"; then
        return 0
    fi
    log "importing image $KUMO_DEFAULT_IMAGE_NAME (${KUMO_DEFAULT_IMAGE_MB} MB raw)"
    file=$(mktemp "$state_dir/.default-image.XXXXXX")
    head -c "$((KUMO_DEFAULT_IMAGE_MB * 1024 * 1024))" /dev/zero >"$file"
    if ! "$MANAGE" --config-file "$conf" image import "$file" \
        --name "$KUMO_DEFAULT_IMAGE_NAME" --disk-format raw --container-format bare \
        --public --property os_distro=cirros >>"$log_file" 2>&1; then
        rm -f "$file"
        die "kumo-manage image import failed; see $log_file"
    fi
    rm -f "$file"
}

KUMO_TINY_IMAGE_NAME=${KUMO_TINY_IMAGE_NAME:-tiny}

# Print the id of the image "$1" imported from file "$2" (disk format $3; the
# remaining arguments are extra `kumo-manage image import` options).
_import_image() {
    local conf=$1 log_file=$2 name=$3 file=$4 format=$5
    shift 5
    "$MANAGE" --config-file "$conf" image import "$file" --name "$name" \
        --disk-format "$format" --container-format "$format" --public --format json "$@" \
        2>>"$log_file" | _json_field id
}

# Import the tiny test guest built by lib/tiny_image.sh in directory $3, AKI/ARI/AMI
# style, unless an image named KUMO_TINY_IMAGE_NAME exists: the kernel
# (<name>-kernel), the initramfs (<name>-ramdisk) and the machine image <name>
# whose kernel_id/ramdisk_id properties point at them, so that libvirt boots
# the kernel directly with the initramfs.
ensure_tiny_image() {
    local conf=$1 log_file=$2 dir=$3 kernel ramdisk
    if "$MANAGE" --config-file "$conf" image list --format json 2>>"$log_file" |
        _json_field name | grep -qxF "$KUMO_TINY_IMAGE_NAME"; then
        return 0
    fi
    log "importing the tiny test guest as image $KUMO_TINY_IMAGE_NAME (from $dir)"
    kernel=$(_import_image "$conf" "$log_file" "$KUMO_TINY_IMAGE_NAME-kernel" "$dir/vmlinuz" aki) ||
        kernel=""
    [[ -n $kernel ]] || die "importing $dir/vmlinuz failed; see $log_file"
    ramdisk=$(_import_image "$conf" "$log_file" "$KUMO_TINY_IMAGE_NAME-ramdisk" "$dir/initrd.gz" ari) ||
        ramdisk=""
    [[ -n $ramdisk ]] || die "importing $dir/initrd.gz failed; see $log_file"
    _import_image "$conf" "$log_file" "$KUMO_TINY_IMAGE_NAME" "$dir/disk.raw" ami \
        --property "kernel_id=$kernel" --property "ramdisk_id=$ramdisk" \
        --property "os_command_line=console=ttyS0" >/dev/null ||
        die "importing the tiny machine image failed; see $log_file"
}
