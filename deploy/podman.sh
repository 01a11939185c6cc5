#!/usr/bin/env bash
# Builds and runs Autopack's container images with rootful podman on a machine
# that reaches no registry (../shared/notes/containers.md has the facts):
#   deploy/podman.sh base                  the local debian:bookworm base (debootstrap)
#   deploy/podman.sh image NAME [BINARY...]
#                                          localhost/autopack-NAME:dev from deploy/NAME/
#                                          and the built binaries (see deploy/README.md)
#   deploy/podman.sh images DIR            every image, from DIR holding the -c opt
#                                          binaries (bazel-bin/deploy/opt, see BUILD.bazel)
#   deploy/podman.sh podman ARGS...        podman with Autopack's settings
#   deploy/podman.sh compose ARGS...       podman-compose with the same settings
# Everything podman keeps (images, containers, networks) lives under
# $AUTOPACK_PODMAN_DIR (default ~/.cache/autopack/podman), with settings
# written before the first podman call there, so that runs never disagree
# with podman's database about where things are.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${AUTOPACK_PODMAN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/autopack/podman}"
BASE_IMAGE=localhost/debian:bookworm

log() { printf '[podman.sh] %s\n' "$*" >&2; }

setup() {
  mkdir -p "$WORK/storage/tmp" "$WORK/storage/networks" "$WORK/run"
  local nofile
  nofile="$(ulimit -Hn)"
  # runc and cgroupfs: crun refuses these machines' hybrid cgroups and there
  # is no systemd; root lacks CAP_SYS_RESOURCE, so podman's default nofile
  # limit cannot be set.
  cat > "$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$WORK/storage/tmp"
[network]
network_config_dir = "$WORK/storage/networks"
CONF
  cat > "$WORK/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$WORK/storage/graph"
runroot = "$WORK/run"
CONF
  export CONTAINERS_CONF="$WORK/containers.conf"
  export CONTAINERS_STORAGE_CONF="$WORK/storage.conf"
  # The OCI format drops HEALTHCHECK.
  export BUILDAH_FORMAT=docker
}

pm() { podman "$@"; }

cmd_base() {
  if pm image exists "$BASE_IMAGE"; then return; fi
  local mirror rootfs
  mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  rootfs="$(mktemp -d "$WORK/rootfs.XXXXXX")"
  log "making $BASE_IMAGE with debootstrap from $mirror (about 30 s)"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log" >&2; rm -rf "$rootfs"; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | pm import --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
  pm tag "$BASE_IMAGE" docker.io/library/debian:bookworm
  rm -rf "$rootfs"
}

# Copies BINARY and every shared library it loads (by ldd) into DIR at the
# same paths, so the image carries exactly the libraries it was linked with.
stage() {
  local binary="$1" dir="$2" name
  name="$(basename "$binary")"
  mkdir -p "$dir/usr/local/bin"
  cp -L "$binary" "$dir/usr/local/bin/$name"
  ldd "$binary" | awk '/=> \//{print $3} /^\t\//{print $1}' | while read -r lib; do
    mkdir -p "$dir$(dirname "$lib")"
    cp -L "$lib" "$dir$lib"
  done
}

# The build context: deploy/NAME/ (its Containerfile and any files it
# copies), config/, and stage/ with each BINARY and its libraries.
cmd_image() {
  local service="$1" binary
  shift
  cmd_base
  local context
  context="$(mktemp -d "$WORK/context.XXXXXX")"
  mkdir -p "$context/stage"
  for binary in "$@"; do stage "$binary" "$context/stage"; done
  cp -rL "$ROOT/config" "$context/config"
  cp -L "$ROOT/deploy/$service"/* "$context/"
  log "building localhost/autopack-$service:dev"
  pm build --pull=never --network=host -t "localhost/autopack-$service:dev" "$context" >"$WORK/build-$service.log" 2>&1 ||
    { tail -30 "$WORK/build-$service.log" >&2; rm -rf "$context"; exit 1; }
  rm -rf "$context"
}

# The one list of images: the runtime every other starts from, postgres, the
# four services (each with the health probe of its HEALTHCHECK) and the fake
# provider.
cmd_images() {
  local bin="$1" service
  cmd_image runtime
  cmd_image postgres
  for service in builder auditor gitadapter supervisor; do
    cmd_image "$service" "$bin/${service}_server" "$bin/health_probe"
  done
  cmd_image fake_provider "$bin/fake_provider"
  # A rebuilt tag leaves its old image dangling; they would pile up.
  pm image prune -f >/dev/null
}

setup
case "${1:-}" in
  base) cmd_base ;;
  image) shift; cmd_image "$@" ;;
  images) shift; cmd_images "$@" ;;
  podman) shift; pm "$@" ;;
  compose) shift; podman-compose "$@" ;;
  *) sed -n '2,14p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
