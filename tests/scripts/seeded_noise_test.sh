#!/usr/bin/env bash
# The seeded (insecure) DP noise is in the test build of the region binary only
# (docs/security.md, "Seeded noise"): the release fedseg-client holds none of its code and refuses
# a config that asks for it; the test build fedseg-client-seeded-noise has it (so the check below
# would notice if it leaked into the release binary).
# Usage: seeded_noise_test.sh BUILD_DIR
set -euo pipefail
build=$1
release="$build/bin/fedseg-client" testbuild="$build/test-bin/fedseg-client-seeded-noise"
fail() { echo "seeded_noise_test.sh: $*" >&2; exit 1; }
[[ -x "$release" && -x "$testbuild" ]] || fail "missing $release or $testbuild"

marker=MakeInsecureSeededNoiseForTesting
grep -a -q "$marker" "$testbuild" || fail "$testbuild lacks $marker: this check would see nothing"
if grep -a -q "$marker" "$release"; then fail "$release contains the seeded noise source"; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/region.json" <<JSON
{"region": "r1", "tls": {"ca": "$tmp/ca.crt", "cert": "$tmp/r1.crt", "key": "$tmp/r1.key"},
 "data": {"train": "$tmp/train.csv"},
 "privacy": {"mode": "dp", "epsilon_budget": 1.0, "ledger": "$tmp/ledger.jsonl",
             "insecure_seeded_noise": true}}
JSON
set +e
"$release" join --config "$tmp/region.json" > "$tmp/out" 2>&1
rc=$?
set -e
[[ $rc -eq 2 ]] || fail "fedseg-client took a seeded-noise config (exit $rc): $(cat "$tmp/out")"
grep -q "privacy.insecure_seeded_noise is set, but this is a release build of fedseg-client" "$tmp/out" ||
  fail "fedseg-client's refusal does not name the key: $(cat "$tmp/out")"
echo "seeded_noise_test.sh: ok"
