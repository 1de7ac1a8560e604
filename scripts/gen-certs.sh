#!/usr/bin/env bash
# Makes the private PKI for a fedseg federation with the openssl command line only.
#
#   scripts/gen-certs.sh --out DIR [--days N] [--coordinator-host NAME_OR_IP ...] [--force]
#                        [--expired NAME ...] REGION...
#
# Writes, all keys EC P-256 (small and fast to handshake with) and mode 0600:
#   DIR/ca.crt, ca.key                  the federation's CA (10 years); kept if it already exists
#   DIR/coordinator.crt, coordinator.key serverAuth, subjectAltName = every --coordinator-host
#                                       (default: localhost and 127.0.0.1)
#   DIR/<region>.crt, <region>.key      clientAuth, subject CN = region name (the coordinator
#                                       identifies a region by this CN)
#   DIR/<name>.crt, <name>.key          for each --expired NAME: a clientAuth certificate signed by
#                                       the CA whose validity ended in 2020 (for tests)
#
# Idempotent: an existing CA is kept unless --force; an existing leaf certificate is kept if it
# still verifies against the CA (and, for the coordinator, names exactly the requested hosts).
# --force makes everything anew. Distribute ca.crt to everyone, <region>.crt/.key to that region
# only, and keep ca.key offline.
set -euo pipefail

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
  exit 2
}
die() {
  echo "gen-certs.sh: $*" >&2
  exit 1
}
# run CMD...: runs an openssl command quietly, but shows everything it said if it fails.
run() {
  local log
  if ! log=$("$@" 2>&1); then
    echo "gen-certs.sh: failed: $*" >&2
    echo "$log" >&2
    exit 1
  fi
}

out=""
days=365
force=0
hosts=()
regions=()
expired=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --days) days=${2:?--days needs a number}; shift 2 ;;
    --coordinator-host) hosts+=("${2:?--coordinator-host needs a name or IP}"); shift 2 ;;
    --expired) expired+=("${2:?--expired needs a name}"); shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) usage ;;
    --*) die "unknown option $1 (see --help)" ;;
    *) regions+=("$1"); shift ;;
  esac
done
[[ -n "$out" ]] || die "--out DIR is required (see --help)"
[[ "$days" =~ ^[1-9][0-9]*$ ]] || die "--days must be a positive integer, got '$days'"
[[ ${#hosts[@]} -gt 0 ]] || hosts=(localhost 127.0.0.1)
command -v openssl >/dev/null || die "openssl is not installed"

# Names become file names and certificate subjects: keep them to a safe alphabet, and away from
# the names of the CA and coordinator files.
for name in "${regions[@]}" "${expired[@]}"; do
  [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] ||
    die "region name '$name' must be 1-64 characters of [A-Za-z0-9._-], starting alphanumeric"
  [[ "$name" != ca && "$name" != coordinator ]] || die "'$name' is reserved"
done

san=""
for h in "${hosts[@]}"; do
  if [[ "$h" =~ ^[0-9.]+$ || "$h" == *:* ]]; then
    san+="${san:+,}IP:$h"
  elif [[ "$h" =~ ^[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
    san+="${san:+,}DNS:$h"
  else
    die "coordinator host '$h' is neither a DNS name nor an IP address"
  fi
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
umask 077  # keys are created private; certificates are made world-readable below
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

new_key() {  # new_key FILE
  run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
  chmod 600 "$1"
}

# --- CA -------------------------------------------------------------------------------------------
if [[ $force -eq 1 || ! -s "$out/ca.crt" || ! -s "$out/ca.key" ]]; then
  new_key "$out/ca.key"
  # A random suffix keeps two federations' CAs apart even if someone trusts both.
  run openssl req -x509 -new -key "$out/ca.key" -sha256 -days 3650 \
    -subj "/O=fedseg/CN=fedseg CA $(openssl rand -hex 4)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$out/ca.crt"
  chmod 644 "$out/ca.crt"
  force=1  # leaves of an old CA no longer verify; make them all anew
  echo "created $out/ca.crt"
else
  echo "kept    $out/ca.crt"
fi

# ext_file KIND [SAN]: an openssl config whose section [leaf] holds the X.509v3 extensions of a
# leaf certificate (and an empty [dn], since the subject is given with -subj).
ext_file() {
  local f="$work/$1.cnf"
  {
    echo "[req]"
    echo "distinguished_name = dn"
    echo "prompt = no"
    echo "[dn]"
    echo "[leaf]"
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "subjectKeyIdentifier=hash"
    echo "authorityKeyIdentifier=keyid"
    if [[ $1 == server ]]; then
      echo "extendedKeyUsage=serverAuth"
      echo "subjectAltName=$2"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$f"
  echo "$f"
}

# is_current NAME [SAN]: NAME.crt/.key exist, verify against the CA, and carry the wanted SAN.
is_current() {
  local crt="$out/$1.crt" key="$out/$1.key"
  [[ $force -eq 0 && -s "$crt" && -s "$key" ]] || return 1
  openssl verify -CAfile "$out/ca.crt" "$crt" >/dev/null 2>&1 || return 1
  # The key must belong to the certificate.
  [[ "$(openssl x509 -in "$crt" -noout -pubkey)" == "$(openssl pkey -in "$key" -pubout)" ]] ||
    return 1
  if [[ $# -gt 1 ]]; then
    local have
    have=$(openssl x509 -in "$crt" -noout -ext subjectAltName 2>/dev/null | tail -n +2 |
      tr -d ' ' | sed 's/IPAddress:/IP:/g')
    [[ "$have" == "$2" ]] || return 1
  fi
}

# issue NAME CN KIND [SAN]: a new key and a certificate signed by the CA, in one openssl call
# (OpenSSL 3's `req -x509 -CA`; the serial is random). One call per leaf keeps a federation of
# thousands of regions quick to set up.
issue() {
  local name=$1 cn=$2 kind=$3 san=${4:-}
  local cnf="$work/$kind.cnf"
  [[ -s "$cnf" ]] || cnf=$(ext_file "$kind" "$san")
  run openssl req -x509 -new -newkey EC -pkeyopt ec_paramgen_curve:P-256 -noenc \
    -keyout "$out/$name.key" -subj "/O=fedseg/CN=$cn" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -sha256 -days "$days" -config "$cnf" -extensions leaf -out "$out/$name.crt"
  chmod 600 "$out/$name.key"
  chmod 644 "$out/$name.crt"
  echo "created $out/$name.crt"
}

# --- coordinator and regions ----------------------------------------------------------------------
if is_current coordinator "$san"; then
  echo "kept    $out/coordinator.crt"
else
  issue coordinator coordinator server "$san"
fi
# Regions are independent: check or issue them in parallel batches (each job writes its line to
# its own file, printed in the order the regions were given).
ext_file client >/dev/null
jobs_max=$(( $(nproc 2>/dev/null || echo 2) * 2 ))
region_job() {  # region_job INDEX NAME
  if is_current "$2"; then echo "kept    $out/$2.crt"; else issue "$2" "$2" client; fi >"$work/r$1.out"
}
pids=()
for i in "${!regions[@]}"; do
  region_job "$i" "${regions[$i]}" &
  pids+=("$!")
  if [[ ${#pids[@]} -ge $jobs_max ]]; then
    wait "${pids[0]}" || die "could not make the certificate of a region (see above)"
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || die "could not make the certificate of a region (see above)"; done
for i in "${!regions[@]}"; do cat "$work/r$i.out"; done

# --- expired certificates (tests) -----------------------------------------------------------------
# OpenSSL 3.0's `x509 -req` can only start a certificate now; `openssl ca` takes explicit
# -startdate/-enddate, so it gets a throwaway database in the work directory.
for e in "${expired[@]}"; do
  touch "$work/index.txt"
  cat >"$work/ca.cnf" <<EOF
[ca]
default_ca = test_ca
[test_ca]
database = $work/index.txt
new_certs_dir = $work
certificate = $out/ca.crt
private_key = $out/ca.key
default_md = sha256
policy = any
unique_subject = no
serial = $work/serial
[any]
organizationName = optional
commonName = supplied
$(sed -n '/^\[leaf\]/,$p' "$work/client.cnf")
EOF
  new_key "$out/$e.key"
  run openssl req -new -key "$out/$e.key" -subj "/O=fedseg/CN=$e" -out "$work/$e.csr"
  run openssl ca -batch -config "$work/ca.cnf" -extensions leaf -rand_serial -notext \
    -startdate 20200101000000Z -enddate 20200102000000Z \
    -in "$work/$e.csr" -out "$out/$e.crt"
  chmod 644 "$out/$e.crt"
  rm -f "$work"/index.txt* "$work"/serial* "$work"/*.pem
  echo "created $out/$e.crt (expired)"
done
