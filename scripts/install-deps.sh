#!/usr/bin/env bash
# Installs every Debian package fedseg's build, tests, benchmarks and scripts need.
# Idempotent and non-interactive; run as root on Debian 12. Skips apt entirely when
# everything is already present, so repeated runs cost a second.
#   --deploy     also the packages of scripts/deploy_test.sh and scripts/make-base-image.sh
#                (container image and `podman kube play`); not needed to build or test fedseg itself.
#   --reference  also pandas and scikit-learn, for the reference baselines (bench/features_bench.sh,
#                scripts/features_reference.py, the scikit-learn figures of docs/quality.md); not
#                needed to build or test fedseg itself.
set -euo pipefail

PACKAGES=(
  build-essential cmake g++ pkg-config git ca-certificates
  ccache                             # compiler cache: repeated and sanitizer builds (cache in ~/.cache)
  libboost-dev libboost-system-dev   # Boost.Asio (+ Beast, header-only)
  libssl-dev openssl                 # OpenSSL 3: TLS 1.3, SHA-256, signatures, CSPRNG
  libeigen3-dev                      # Eigen 3.4: dense linear algebra for the MLP
  libcereal-dev                      # cereal: binary serialization of models and messages
  libomp-dev                         # OpenMP runtime headers (libgomp ships with g++)
  libgtest-dev libgmock-dev          # GoogleTest / GoogleMock
  libbenchmark-dev                   # Google Benchmark
  libcli11-dev                       # CLI11: command lines
  nlohmann-json3-dev                 # nlohmann-json: JSON configs and reports
  libspdlog-dev libfmt-dev           # spdlog: logging
  python3                            # small helper scripts (splitting CSVs in simulate.sh)
  chromium                           # headless browser: a test loads report.html in it and
                                     # checks every plot renders with no page error
  time                               # GNU time: peak memory and CPU of scripts/load_test.sh
  iproute2                           # ip netns / tc: the multi-host test (netns_federation.sh)
  curl                               # tests: a real HTTPS client for the coordinator's status endpoint
  # scripts/test.sh --sanitize and scripts/fuzz.sh: the ThreadSanitizer build uses clang with LLVM's OpenMP runtime
  # and its Archer tool (libarcher, in libomp-14-dev), since GCC's libgomp is invisible to TSan;
  # libclang-rt-14-dev holds clang's sanitizer runtimes. ASan+UBSan use g++'s own
  # runtimes; libFuzzer (libclang-rt-14-dev) needs clang too.
  clang-14 libomp-14-dev libclang-rt-14-dev
)

# scripts/deploy_test.sh: rootful podman with runc (crun refuses the hybrid cgroup layout of some
# hosts), catatonit for the pods' infra containers, debootstrap for the base image (no registry
# needed), python3-yaml to render the Kubernetes manifests for the host.
DEPLOY_PACKAGES=(podman runc catatonit debootstrap python3-yaml)
REFERENCE_PACKAGES=(python3-pandas python3-sklearn)
for option in "$@"; do
  case "$option" in
    --deploy) PACKAGES+=("${DEPLOY_PACKAGES[@]}") ;;
    --reference) PACKAGES+=("${REFERENCE_PACKAGES[@]}") ;;
    *) echo "install-deps: unknown option $option (--deploy: the deployment test's packages," \
            "--reference: pandas and scikit-learn for the reference baselines)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}) and not root; run as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
