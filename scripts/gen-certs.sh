#!/usr/bin/env bash
# Makes the private PKI for a fedseg federation with the openssl command line only.
#
#   scripts/gen-certs.sh --out DIR [--days N] [--coordinator-host NAME_OR_IP ...]
#                        [--renew NAME ...] [--sign-csr FILE ...] [--force]
#                        [--expired NAME ...] [NAME ...]
#   scripts/gen-certs.sh --make-csr NAME --out DIR
#
# Writes, all keys EC P-256 (small and fast to handshake with), everything under umask 077:
#   DIR/ca.crt                          the federation's CA certificate (10 years; mode 0644)
#   DIR/ca/ca.key                       the CA's key, in its own folder (mode 0700): keep it offline
#   DIR/coordinator.crt, coordinator.key serverAuth, subjectAltName = every --coordinator-host
#                                       (default: localhost and 127.0.0.1)
#   DIR/<name>.crt, <name>.key          clientAuth, subject CN = NAME (a region, or a monitoring
#                                       identity such as prometheus; the coordinator identifies a
#                                       peer by this CN)
#   DIR/<cn>.crt                        for each --sign-csr FILE: a clientAuth certificate for the
#                                       CSR's key and subject CN (the region keeps its own key)
#   DIR/<name>.crt, <name>.key          for each --expired NAME: a clientAuth certificate whose
#                                       validity ended in 2020 (for tests)
#
# An existing CA, certificate or key is never replaced: the script says "kept" for each and warns
# when a kept certificate no longer matches what was asked (another SAN, expired, another CA).
# --renew NAME issues NAME anew (new key and certificate; with --sign-csr, a new certificate for
# the CSR's key); --force starts a whole new PKI (CA included).
#
# A region that keeps its own key makes it and a CSR on its own machine (no CA needed):
#   scripts/gen-certs.sh --make-csr eu-west --out mykeys   # mykeys/eu-west.key, eu-west.csr
# sends eu-west.csr to the CA's operator, who runs
#   scripts/gen-certs.sh --out pki --sign-csr eu-west.csr  # pki/eu-west.crt
# and sends back pki/eu-west.crt and pki/ca.crt. Distribute ca.crt to everyone, <name>.crt/.key to
# that party only, and keep ca/ca.key offline.
set -euo pipefail
umask 077  # before anything is created: keys, folders and temporaries are private from the start

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
make_csr=""
hosts=()
regions=()
expired=()
renew=()
csrs=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --days) days=${2:?--days needs a number}; shift 2 ;;
    --coordinator-host) hosts+=("${2:?--coordinator-host needs a name or IP}"); shift 2 ;;
    --expired) expired+=("${2:?--expired needs a name}"); shift 2 ;;
    --renew) renew+=("${2:?--renew needs a name}"); shift 2 ;;
    --sign-csr) csrs+=("${2:?--sign-csr needs a file}"); shift 2 ;;
    --make-csr) make_csr=${2:?--make-csr needs a name}; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) usage ;;
    --*) die "unknown option $1 (see --help)" ;;
    *) regions+=("$1"); shift ;;
  esac
done
[[ -n "$out" ]] || die "--out DIR is required (see --help)"
[[ "$days" =~ ^[1-9][0-9]*$ ]] || die "--days must be a positive integer, got '$days'"
hosts_given=${#hosts[@]}
[[ ${#hosts[@]} -gt 0 ]] || hosts=(localhost 127.0.0.1)
command -v openssl >/dev/null || die "openssl is not installed"

# Names become file names and certificate subjects: keep them to a safe alphabet, and away from
# the names of the CA and coordinator files.
check_name() {
  [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] ||
    die "name '$1' must be 1-64 characters of [A-Za-z0-9._-], starting alphanumeric"
  [[ "$1" != ca && "$1" != coordinator ]] || die "'$1' is reserved"
}
for name in "${regions[@]}" "${expired[@]}" ${make_csr:+"$make_csr"}; do check_name "$name"; done
for name in "${renew[@]}"; do
  [[ "$name" == coordinator ]] && continue
  check_name "$name"
  # --renew NAME of a name not given otherwise renews that region's certificate and key (a name
  # only signed from a CSR is renewed with --sign-csr).
  [[ " ${regions[*]} ${expired[*]} " == *" $name "* ]] && continue
  if [[ -e "$out/$name.key" || ! -e "$out/$name.crt" ]]; then regions+=("$name"); fi
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- a region's own key and CSR (no CA involved) ---------------------------------------------------
if [[ -n "$make_csr" ]]; then
  [[ ${#regions[@]} -eq 0 && ${#csrs[@]} -eq 0 && ${#expired[@]} -eq 0 ]] ||
    die "--make-csr makes one key and CSR; give no other names"
  for f in "$out/$make_csr.key" "$out/$make_csr.csr"; do
    [[ ! -e "$f" || " ${renew[*]} " == *" $make_csr "* ]] ||
      die "$f exists; kept (pass --renew $make_csr to make a new key and CSR)"
  done
  run openssl req -new -newkey EC -pkeyopt ec_paramgen_curve:P-256 -noenc \
    -keyout "$out/$make_csr.key" -subj "/O=fedseg/CN=$make_csr" -out "$out/$make_csr.csr"
  chmod 600 "$out/$make_csr.key"
  chmod 644 "$out/$make_csr.csr"
  echo "created $out/$make_csr.key (keep it here) and $out/$make_csr.csr (send it to the CA)"
  exit 0
fi

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

renewing() {  # renewing NAME: NAME was named with --renew (or --force)
  [[ $force -eq 1 || " ${renew[*]} " == *" $1 "* ]]
}

# --- CA -------------------------------------------------------------------------------------------
cakey="$out/ca/ca.key"
mkdir -p "$out/ca"
chmod 700 "$out/ca"
if [[ -s "$out/ca.key" && ! -e "$cakey" ]]; then
  # A PKI made before the CA key had its own folder.
  mv "$out/ca.key" "$cakey"
  echo "moved   $out/ca.key to $cakey"
fi
if [[ $force -eq 1 || ! -s "$out/ca.crt" || ! -s "$cakey" ]]; then
  if [[ $force -eq 0 ]]; then
    for f in "$out/ca.crt" "$cakey" "$out"/*.key; do
      [[ ! -e "$f" ]] || die "$out holds $(basename "$f") but not both ca.crt and ca/ca.key; kept everything (--force starts a new PKI, replacing every certificate and key)"
    done
  fi
  run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$cakey"
  chmod 600 "$cakey"
  # A random suffix keeps two federations' CAs apart even if someone trusts both.
  run openssl req -x509 -new -key "$cakey" -sha256 -days 3650 \
    -subj "/O=fedseg/CN=fedseg CA $(openssl rand -hex 4)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$out/ca.crt"
  chmod 644 "$out/ca.crt"
  force=1  # leaves of an old CA no longer verify; make them all anew
  echo "created $out/ca.crt and $cakey"
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

# kept_note NAME [SAN]: why a kept certificate may not be what was asked for ("" if it is).
kept_note() {
  local crt="$out/$1.crt" key="$out/$1.key"
  if ! openssl verify -CAfile "$out/ca.crt" "$crt" >/dev/null 2>&1; then
    echo " (WARNING: it does not verify against ca.crt: expired or from another CA; --renew $1)"
  elif [[ -s "$key" && "$(openssl x509 -in "$crt" -noout -pubkey)" != "$(openssl pkey -in "$key" -pubout)" ]]; then
    echo " (WARNING: $1.key does not belong to it; --renew $1)"
  elif [[ $# -gt 1 ]]; then
    local have
    have=$(openssl x509 -in "$crt" -noout -ext subjectAltName 2>/dev/null | tail -n +2 |
      tr -d ' ' | sed 's/IPAddress:/IP:/g')
    [[ "$have" == "$2" ]] || echo " (its subjectAltName is $have, not $2; --renew $1 to reissue)"
  fi
}

# issue NAME CN KIND [SAN]: a new key and a certificate signed by the CA, in one openssl call
# (OpenSSL 3's `req -x509 -CA`; the serial is random). One call per leaf keeps a federation of
# thousands of regions quick to set up. Writes beside the old files, then moves them in place.
issue() {
  local name=$1 cn=$2 kind=$3 san=${4:-}
  local cnf="$work/$kind.cnf"
  [[ -s "$cnf" ]] || cnf=$(ext_file "$kind" "$san")
  run openssl req -x509 -new -newkey EC -pkeyopt ec_paramgen_curve:P-256 -noenc \
    -keyout "$work/$name.key.new" -subj "/O=fedseg/CN=$cn" -CA "$out/ca.crt" -CAkey "$cakey" \
    -sha256 -days "$days" -config "$cnf" -extensions leaf -out "$work/$name.crt.new"
  chmod 600 "$work/$name.key.new"
  chmod 644 "$work/$name.crt.new"
  mv "$work/$name.key.new" "$out/$name.key"
  mv "$work/$name.crt.new" "$out/$name.crt"
  echo "created $out/$name.crt and $name.key"
}

# leaf NAME KIND [SAN]: keeps NAME's certificate and key if either exists (unless renewing),
# issues them otherwise.
leaf() {
  local name=$1 kind=$2 san=${3:-}
  if ! renewing "$name" && [[ -e "$out/$name.crt" || -e "$out/$name.key" ]]; then
    if [[ -s "$out/$name.crt" ]]; then
      echo "kept    $out/$name.crt$(kept_note "$name" ${san:+"$san"})"
    else
      echo "kept    $out/$name.key (no $name.crt beside it; --renew $name to issue both anew)"
    fi
    return
  fi
  issue "$name" "$name" "$kind" "$san"
}

# --- coordinator and regions ----------------------------------------------------------------------
ext_file server "$san" >/dev/null
# Without --coordinator-host, an existing coordinator certificate is kept whatever its SAN.
if [[ $hosts_given -eq 0 ]]; then leaf coordinator server; else leaf coordinator server "$san"; fi
# Regions are independent: check or issue them in parallel batches (each job writes its line to
# its own file, printed in the order the regions were given).
ext_file client >/dev/null
jobs_max=$(( $(nproc 2>/dev/null || echo 2) * 2 ))
pids=()
for i in "${!regions[@]}"; do
  leaf "${regions[$i]}" client >"$work/r$i.out" &
  pids+=("$!")
  if [[ ${#pids[@]} -ge $jobs_max ]]; then
    wait "${pids[0]}" || die "could not make the certificate of a region (see above)"
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || die "could not make the certificate of a region (see above)"; done
for i in "${!regions[@]}"; do cat "$work/r$i.out"; done

# --- CSRs of regions that keep their own keys ----------------------------------------------------
for csr in "${csrs[@]}"; do
  [[ -s "$csr" ]] || die "CSR '$csr' does not exist or is empty"
  openssl req -in "$csr" -noout -verify >/dev/null 2>&1 ||
    die "'$csr' is not a PEM certificate request with a valid self-signature"
  cn=$(openssl req -in "$csr" -noout -subject -nameopt multiline 2>/dev/null |
    sed -n 's/^ *commonName *= *//p')
  [[ -n "$cn" ]] || die "CSR '$csr' has no subject CN (the region's name)"
  check_name "$cn"
  if [[ -e "$out/$cn.crt" ]] && ! renewing "$cn"; then
    echo "kept    $out/$cn.crt (not signing $csr; --renew $cn to replace it)"
    continue
  fi
  run openssl x509 -req -in "$csr" -CA "$out/ca.crt" -CAkey "$cakey" -CAcreateserial \
    -CAserial "$work/ca.srl" -sha256 -days "$days" -extfile "$work/client.cnf" -extensions leaf \
    -out "$work/$cn.crt.new"
  chmod 644 "$work/$cn.crt.new"
  mv "$work/$cn.crt.new" "$out/$cn.crt"
  echo "created $out/$cn.crt from $csr (the key stays with the region)"
done

# --- expired certificates (tests) -----------------------------------------------------------------
# OpenSSL 3.0's `x509 -req` can only start a certificate now; `openssl ca` takes explicit
# -startdate/-enddate, so it gets a throwaway database in the work directory.
for e in "${expired[@]}"; do
  if [[ -e "$out/$e.crt" ]] && ! renewing "$e"; then
    echo "kept    $out/$e.crt"
    continue
  fi
  touch "$work/index.txt"
  cat >"$work/ca.cnf" <<EOF
[ca]
default_ca = test_ca
[test_ca]
database = $work/index.txt
new_certs_dir = $work
certificate = $out/ca.crt
private_key = $cakey
default_md = sha256
policy = any
unique_subject = no
serial = $work/serial
[any]
organizationName = optional
commonName = supplied
$(sed -n '/^\[leaf\]/,$p' "$work/client.cnf")
EOF
  run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/$e.key"
  chmod 600 "$out/$e.key"
  run openssl req -new -key "$out/$e.key" -subj "/O=fedseg/CN=$e" -out "$work/$e.csr"
  run openssl ca -batch -config "$work/ca.cnf" -extensions leaf -rand_serial -notext \
    -startdate 20200101000000Z -enddate 20200102000000Z \
    -in "$work/$e.csr" -out "$out/$e.crt"
  chmod 644 "$out/$e.crt"
  rm -f "$work"/index.txt* "$work"/serial* "$work"/*.pem
  echo "created $out/$e.crt (expired)"
done
