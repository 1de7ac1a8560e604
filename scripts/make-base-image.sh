#!/usr/bin/env bash
# Builds the Debian 12 base image of the fedseg container image from this machine's own Debian
# mirror (no container registry needed): debootstrap --variant=minbase, then podman import.
#
#   scripts/make-base-image.sh [--tag localhost/fedseg-debian:12] [--mirror URL] [--force]
#
# --mirror defaults to the first Debian mirror in /etc/apt/sources.list and
# /etc/apt/sources.list.d/ (one-line or deb822 format). The image is built only when --tag does not
# exist yet (or with --force). An imported image has no environment, so PATH, LANG and the default
# command are set with --change. Needs root, debootstrap and podman (scripts/install-deps.sh
# --deploy installs them). Exit code: 0 when the image exists at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
tag=localhost/fedseg-debian:12 mirror="" force=0 suite=bookworm
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2; }
die() { echo "make-base-image.sh: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) [[ $# -ge 2 ]] || die "--tag needs a value"; tag=$2; shift 2 ;;
    --mirror) [[ $# -ge 2 ]] || die "--mirror needs a value"; mirror=$2; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) usage ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "run as root (debootstrap and rootful podman)"
command -v debootstrap >/dev/null || die "debootstrap is missing (scripts/install-deps.sh --deploy)"
command -v podman >/dev/null || die "podman is missing (scripts/install-deps.sh --deploy)"
export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/deploy/podman/containers.conf}

if [[ $force -eq 0 ]] && podman image exists "$tag"; then
  echo "make-base-image.sh: $tag exists (use --force to rebuild)"
  exit 0
fi

# The machine's Debian mirror: the first URI serving the main archive (not -security).
if [[ -z "$mirror" ]]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
             2>/dev/null | awk '
      /^[[:space:]]*#/ { next }
      /^deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break }; next }
      /^URIs:/ { print $2 }' | grep -E '/debian/?$' | grep -v -- '-security' | head -n 1 || true)
fi
[[ -n "$mirror" ]] || die "found no Debian mirror in /etc/apt/sources.list*; pass --mirror URL"

work=$(mktemp -d /var/tmp/fedseg-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "make-base-image.sh: debootstrap --variant=minbase $suite from $mirror"
debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" \
  > "$work/debootstrap.log" 2>&1 || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
# Apt inside the image uses the same mirror; no caches, logs or docs in the image.
printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$suite" "$mirror" "$suite" \
  > "$work/rootfs/etc/apt/sources.list"
rm -rf "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/cache/apt/*.bin \
  "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/log/*.log \
  "$work"/rootfs/usr/share/doc/* "$work"/rootfs/usr/share/man/*

tar --numeric-owner -C "$work/rootfs" -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  --message "Debian 12 ($suite) minbase from $mirror" - "$tag" >/dev/null
echo "make-base-image.sh: built $tag ($(podman image inspect --format '{{.Size}}' "$tag") bytes)"
