#!/usr/bin/env bash
# Packaging test (ctest: InstallAndPackage): `cmake --install` puts the binaries, the example
# configs, the docs and gen-certs.sh where docs/operations.md says, the installed binaries run,
# and `cpack -G DEB` builds a .deb that contains them and declares its library dependencies.
#   install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/usr" >/dev/null
for f in bin/fedseg-coordinator bin/fedseg-client bin/fedseg-audit \
         share/fedseg/examples/coordinator.json share/fedseg/examples/region.json \
         share/doc/fedseg/README.md share/doc/fedseg/DATA.md share/doc/fedseg/quickstart.md share/doc/fedseg/operations.md \
         share/doc/fedseg/security.md share/doc/fedseg/auditing.md share/doc/fedseg/architecture.md \
         share/fedseg/scripts/gen-certs.sh; do
  [[ -e "$tmp/usr/$f" ]] || fail "cmake --install did not install $f"
done
for b in fedseg-coordinator fedseg-client fedseg-audit; do
  "$tmp/usr/bin/$b" --help | grep -q "Usage" || fail "installed $b --help printed no usage"
done
# The installed example configs are the very files ExampleConfigsTest validates.
for f in coordinator.json region.json; do
  cmp -s "$src/examples/$f" "$tmp/usr/share/fedseg/examples/$f" || fail "installed $f differs"
done
# The installed gen-certs.sh works from its installed place.
bash "$tmp/usr/share/fedseg/scripts/gen-certs.sh" --out "$tmp/pki" r1 >/dev/null
[[ -s "$tmp/pki/r1.crt" && -s "$tmp/pki/coordinator.crt" ]] || fail "installed gen-certs.sh made no certificates"

(cd "$tmp" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/pkg" >/dev/null) ||
  fail "cpack -G DEB failed"
deb=$(ls "$tmp"/pkg/fedseg_*_amd64.deb 2>/dev/null | head -1)
[[ -n "$deb" ]] || fail "cpack made no fedseg_*_amd64.deb"
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/fedseg-coordinator ./usr/bin/fedseg-client ./usr/bin/fedseg-audit \
         ./usr/share/doc/fedseg/security.md; do
  grep -q " $f\$" <<<"$contents" || fail "$deb lacks $f"
done
depends=$(dpkg-deb -f "$deb" Depends)
grep -q "libssl3" <<<"$depends" || fail "the .deb does not depend on libssl3 (Depends: $depends)"
echo "PASS: installed $(find "$tmp/usr" -type f | wc -l) files; $(basename "$deb") $(du -k "$deb" | cut -f1) KiB, Depends: $depends"
