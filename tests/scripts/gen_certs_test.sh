#!/usr/bin/env bash
# Tests of scripts/gen-certs.sh (docs/operations.md#certificates): private from the start (umask
# 077), the CA key in its own folder, nothing existing replaced unless --renew (issue: a second
# call for a monitoring identity replaced the coordinator's key and SAN), CSRs signed for regions
# that keep their keys, and the extended key usages the TLS layer requires.
#
#   tests/scripts/gen_certs_test.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: gen_certs_test.sh SOURCE_DIR}
gen="bash $src/scripts/gen-certs.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
mode() { stat -c %a "$1"; }
eku() { openssl x509 -in "$1" -noout -ext extendedKeyUsage | tail -n +2 | tr -d ' '; }
san() { openssl x509 -in "$1" -noout -ext subjectAltName | tail -n +2 | tr -d ' '; }

# 1. A first PKI: folder and keys private, the CA key in pki/ca/, the right EKU on each side.
umask 022
$gen --out pki --coordinator-host fedseg.example.com --coordinator-host 10.1.2.3 eu-west us-east \
  apac >first.out
[[ $(mode pki) == 700 ]] || fail "pki is mode $(mode pki), expected 700"
[[ $(mode pki/ca) == 700 ]] || fail "pki/ca is mode $(mode pki/ca), expected 700"
[[ -s pki/ca/ca.key && ! -e pki/ca.key ]] || fail "the CA key is not (only) in pki/ca/ca.key"
for k in pki/ca/ca.key pki/coordinator.key pki/eu-west.key; do
  [[ $(mode "$k") == 600 ]] || fail "$k is mode $(mode "$k"), expected 600"
done
[[ $(mode pki/ca.crt) == 644 ]] || fail "ca.crt is mode $(mode pki/ca.crt)"
[[ $(eku pki/coordinator.crt) == "TLSWebServerAuthentication" ]] ||
  fail "coordinator EKU is '$(eku pki/coordinator.crt)'"
[[ $(eku pki/eu-west.crt) == "TLSWebClientAuthentication" ]] ||
  fail "region EKU is '$(eku pki/eu-west.crt)'"
[[ $(san pki/coordinator.crt) == "DNS:fedseg.example.com,IPAddress:10.1.2.3" ]] ||
  fail "coordinator SAN is '$(san pki/coordinator.crt)'"

# 2. A second call for a monitoring identity touches nothing that exists, and says so.
sha256sum pki/ca.crt pki/ca/ca.key pki/coordinator.crt pki/coordinator.key pki/eu-west.* >sums
$gen --out pki prometheus >second.out
sha256sum -c --quiet sums || fail "a second call changed existing files"
grep -qx "kept    $tmp/pki/coordinator.crt" second.out || fail "no 'kept' line: $(cat second.out)"
grep -q "created $tmp/pki/prometheus.crt" second.out || fail "prometheus not created"
[[ $(eku pki/prometheus.crt) == "TLSWebClientAuthentication" ]] || fail "prometheus EKU"

# 3. Other hosts without --renew: kept, with a note naming the SAN it has.
$gen --out pki --coordinator-host other.example eu-west >third.out
sha256sum -c --quiet sums || fail "other --coordinator-host replaced the coordinator"
grep -q "its subjectAltName is DNS:fedseg.example.com,IP:10.1.2.3, not DNS:other.example" \
  third.out || fail "no SAN note: $(cat third.out)"

# 4. --renew NAME replaces exactly that one.
$gen --out pki --renew eu-west >renew.out
if sha256sum -c --quiet <(grep eu-west.key sums) &>/dev/null; then fail "--renew eu-west kept its key"; fi
sha256sum -c --quiet <(grep coordinator sums) || fail "--renew eu-west touched the coordinator"
$gen --out pki --renew coordinator --coordinator-host new.example >renew2.out
[[ $(san pki/coordinator.crt) == "DNS:new.example" ]] || fail "--renew coordinator kept the SAN"
openssl verify -CAfile pki/ca.crt pki/coordinator.crt pki/eu-west.crt >/dev/null ||
  fail "renewed certificates do not verify"

# 5. A region keeps its own key: --make-csr on its side, --sign-csr on the CA's.
$gen --make-csr selfkeep --out region-side >csr.out
[[ $(mode region-side/selfkeep.key) == 600 ]] || fail "the region's own key is not 0600"
$gen --out pki --sign-csr region-side/selfkeep.csr >sign.out
[[ ! -e pki/selfkeep.key ]] || fail "signing a CSR made a key on the CA's side"
openssl verify -CAfile pki/ca.crt pki/selfkeep.crt >/dev/null || fail "signed CSR does not verify"
[[ "$(openssl x509 -in pki/selfkeep.crt -noout -pubkey)" == \
   "$(openssl pkey -in region-side/selfkeep.key -pubout)" ]] || fail "signed another key"
[[ $(eku pki/selfkeep.crt) == "TLSWebClientAuthentication" ]] || fail "CSR certificate EKU"
before=$(sha256sum pki/selfkeep.crt)
$gen --out pki --sign-csr region-side/selfkeep.csr >sign2.out
[[ "$(sha256sum pki/selfkeep.crt)" == "$before" ]] || fail "re-signing replaced the certificate"
grep -q "kept    $tmp/pki/selfkeep.crt" sign2.out || fail "no kept line for the CSR: $(cat sign2.out)"
if $gen --make-csr selfkeep --out region-side 2>err.out; then fail "--make-csr replaced a key"; fi
grep -q "exists; kept" err.out || fail "unclear refusal: $(cat err.out)"
echo "garbage" >bad.csr
if $gen --out pki --sign-csr bad.csr >/dev/null 2>err.out; then fail "signed a garbage CSR"; fi
grep -q "not a PEM certificate request" err.out || fail "unclear CSR refusal: $(cat err.out)"

# 6. An old layout (ca.key beside the leaves) is moved into ca/.
mv pki/ca/ca.key pki/ca.key
$gen --out pki >move.out
[[ -s pki/ca/ca.key && ! -e pki/ca.key ]] || fail "old ca.key not moved"
grep -q "moved" move.out || fail "no 'moved' line"

# 7. Leaves without a CA are never silently orphaned.
rm pki/ca.crt
if $gen --out pki >/dev/null 2>err.out; then fail "made a new CA over existing keys without --force"; fi
grep -q "force" err.out || fail "unclear refusal: $(cat err.out)"
echo "gen-certs.sh: all checks passed"
