#!/usr/bin/env bash
# Tests the deployment: builds the Debian 12 base image and the fedseg image with podman, then runs
# the Kubernetes manifests of deploy/kubernetes/ with `podman kube play` on the host network (all
# traffic on 127.0.0.1, mutual TLS): a coordinator and 3 regions train a 5-round federation with
# DP-SGD on the bundled data. After round 1 it kills one region's pod; while the run waits for that
# region, it deletes the coordinator's pod and plays it again (it resumes from its checkpoint: same
# run id), then plays the region's again (its ledger on the state volume survives: ε continues,
# checked with fedseg-audit). Finally it checks that exactly the planned rounds ran, verifies every
# ledger and segments the bundled table with the final model, outside the containers.
#
#   sudo scripts/deploy_test.sh [--ci] [--image-from source|prebuilt] [--rounds 5]
#                               [--work DIR] [--keep] [--install] [--json]
#
# --image-from source   compile fedseg in the image's build stage (the default without --ci); a
#                       compiler cache in /var/cache/fedseg-ccache (FEDSEG_CCACHE_DIR) is mounted
# --image-from prebuilt copy build/bin/fedseg-* into the runtime image (stage runtime-prebuilt)
# --ci                  the CI part: --image-from prebuilt (build/bin must hold a Release build)
#                       and the same federation: about 2 minutes with the base image built, about
#                       9 without (debootstrap); docs/deployment.md has the measurements
# --install             install podman, runc, catatonit, debootstrap first
#                       (scripts/install-deps.sh --deploy)
# --work DIR            put certificates, data, manifests and logs there (default: a new
#                       /var/tmp/fedseg-deploy.XXXXXX, removed after a pass; DIR never is)
# --keep                leave the pods, volumes, secrets and the work directory for inspection;
#                       a failure keeps them too
# --json                print the summary (times of each step, ε, rounds) as JSON on stdout
#
# Needs root (rootful podman). Exit code: 0 when every check passed, 1 when one failed, 2 on bad usage
# or a missing tool.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

ci=0 image_from="" rounds=5 work="" keep=0 install=0 json=0
tag=localhost/fedseg:0.1.0 base_tag=localhost/fedseg-debian:12
regions=(region-01 region-02 region-03)
victim=region-02
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2; }
die() { echo "deploy_test.sh: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ci) ci=1; shift ;;
    --image-from) [[ $# -ge 2 ]] || die "--image-from needs source or prebuilt"; image_from=$2; shift 2 ;;
    --rounds) [[ $# -ge 2 ]] || die "--rounds needs a value"; rounds=$2; shift 2 ;;
    --work) [[ $# -ge 2 ]] || die "--work needs a directory"; work=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --install) install=1; shift ;;
    --json) json=1; shift ;;
    -h|--help) usage ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ -n "$image_from" ]] || { [[ $ci -eq 1 ]] && image_from=prebuilt || image_from=source; }
[[ "$image_from" == source || "$image_from" == prebuilt ]] || die "--image-from: source or prebuilt, not '$image_from'"
[[ "$rounds" =~ ^[0-9]+$ && "$rounds" -ge 4 ]] || die "--rounds must be 4 or more (a kill and a restart happen mid-run)"
[[ $(id -u) -eq 0 ]] || die "run as root (rootful podman)"
if [[ $install -eq 1 ]]; then bash "$here/install-deps.sh" --deploy; fi
for tool in podman runc debootstrap curl python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (run with --install, or scripts/install-deps.sh --deploy)"
done
[[ -x /usr/libexec/podman/catatonit ]] || die "catatonit is missing (run with --install)"
python3 -c 'import yaml' 2>/dev/null || die "python3-yaml is missing (run with --install)"
if [[ "$image_from" == prebuilt ]]; then
  for b in fedseg-coordinator fedseg-client fedseg-audit; do
    [[ -x "$root/build/bin/$b" ]] || die "--image-from prebuilt needs build/bin/$b (cmake --build build --target $b)"
  done
fi
export CONTAINERS_CONF="$root/deploy/podman/containers.conf"

own_work=0  # a directory given with --work is never removed
[[ -n "$work" ]] || { work=$(mktemp -d /var/tmp/fedseg-deploy.XXXXXX); own_work=1; }
mkdir -p "$work"
work=$(cd "$work" && pwd)
steps=()  # "name seconds" per finished step
step_start=$SECONDS
step() {  # step NAME: ends the previous step's timer
  local now=$SECONDS
  [[ -n "${step_name:-}" ]] && steps+=("$step_name $((now - step_start))")
  step_name=$1 step_start=$now
  echo "deploy_test.sh: [$SECONDS s] $1" >&2
}
fail() {
  echo "deploy_test.sh: FAILED: $*" >&2
  echo "deploy_test.sh: logs and volumes kept; work directory $work" >&2
  for p in $(podman pod ps --format '{{.Name}}' --filter name=fedseg- 2>/dev/null); do
    for c in $(podman ps -a --format '{{.Names}}' --filter pod="$p"); do
      [[ $c == *-infra ]] && continue
      podman logs --tail 15 "$c" > "$work/$c.log" 2>&1 || true
    done
  done
  keep=1
  exit 1
}

# The names the rendered manifests give podman's objects (deploy/kubernetes/*, region suffixed).
pods=(fedseg-coordinator-pod-0) volumes=(fedseg-coordinator-run fedseg-coordinator-config
  fedseg-coordinator-tls) secrets=(fedseg-coordinator-tls)
for r in "${regions[@]}"; do
  pods+=("fedseg-$r-pod-0")
  volumes+=("fedseg-$r-state" "fedseg-$r-data" "fedseg-$r-config" "fedseg-$r-tls")
  secrets+=("fedseg-$r-tls")
done
teardown() {
  for p in "${pods[@]}"; do podman pod rm -f -t 5 "$p" >/dev/null 2>&1 || true; done
  for v in "${volumes[@]}"; do podman volume rm -f "$v" >/dev/null 2>&1 || true; done
  for s in "${secrets[@]}"; do podman secret rm "$s" >/dev/null 2>&1 || true; done
}
on_exit() {
  if [[ $keep -eq 0 ]]; then
    teardown
    [[ $own_work -eq 1 ]] && rm -rf "$work"
  fi
}
trap on_exit EXIT
trap 'echo "deploy_test.sh: interrupted" >&2; exit 130' INT TERM
step cleanup
teardown  # objects of an earlier run that was kept

# 1. Images.
step base-image
bash "$here/make-base-image.sh" --tag "$base_tag" >&2
step image
build_args=(--network host -f "$root/deploy/container/Containerfile"
  --ignorefile "$root/deploy/container/containerignore" --build-arg "BASE=$base_tag" -t "$tag")
if [[ "$image_from" == source ]]; then
  ccache_dir=${FEDSEG_CCACHE_DIR:-/var/cache/fedseg-ccache}
  mkdir -p "$ccache_dir"
  build_args+=(--target runtime -v "$ccache_dir:/ccache")
else
  build_args+=(--target runtime-prebuilt)
fi
podman build "${build_args[@]}" "$root" > "$work/image-build.log" 2>&1 \
  || { tail -n 30 "$work/image-build.log" >&2; fail "podman build (log: $work/image-build.log)"; }

step image-checks
user=$(podman image inspect --format '{{.Config.User}}' "$tag")
[[ "$user" == 10001:10001 ]] || fail "the image runs as '$user', not the non-root 10001:10001"
if podman run --rm --network none "$tag" sh -c 'command -v gcc || command -v g++ || command -v cc || command -v c++ || command -v cmake' >/dev/null 2>&1; then
  fail "the runtime image contains a compiler"
fi
keys=$(podman run --rm --network none --user 0 "$tag" sh -c \
  'grep -rlIs -e "PRIVATE KEY-----" /etc /usr /var /root /home /opt /srv 2>/dev/null | head -n 5' || true)
[[ -z "$keys" ]] || fail "the image contains private keys: $keys"
podman run --rm --network none "$tag" fedseg-coordinator --help > /dev/null || fail "fedseg-coordinator does not run in the image"
image_bytes=$(podman image inspect --format '{{.Size}}' "$tag")
# The binaries the checks below run outside the containers: the image's own.
mkdir -p "$work/bin"
cid=$(podman create "$tag")
for b in fedseg-coordinator fedseg-client fedseg-audit; do podman cp "$cid:/usr/bin/$b" "$work/bin/$b"; done
podman rm "$cid" >/dev/null

# The systemd units as the .deb installs them, checked offline against this host's systemd.
step systemd-units
if command -v systemd-analyze >/dev/null; then
  sroot="$work/systemd-root"
  mkdir -p "$sroot/usr/bin" "$sroot/usr/lib/systemd/system"
  cp -rn /lib/systemd/system/. "$sroot/usr/lib/systemd/system/" 2>/dev/null || true
  cp "$root"/deploy/systemd/*.service "$sroot/usr/lib/systemd/system/"
  install -m 0755 "$work/bin/fedseg-coordinator" "$work/bin/fedseg-client" "$sroot/usr/bin/"
  for u in fedseg-coordinator fedseg-region; do
    systemd-analyze verify --root="$sroot" "$sroot/usr/lib/systemd/system/$u.service" \
      || fail "systemd-analyze verify $u.service"
    exposure=$(systemd-analyze security --offline=yes --root="$sroot" \
      "$sroot/usr/lib/systemd/system/$u.service" 2>/dev/null | awk '/Overall exposure level/ { print $(NF-2) }')
    echo "deploy_test.sh: $u.service verifies; systemd-analyze security exposure $exposure" >&2
  done
else
  echo "deploy_test.sh: no systemd-analyze; the units are not checked" >&2
fi

# 2. Certificates, data, and the manifests rendered for this host.
step setup
bash "$here/gen-certs.sh" --out "$work/certs" "${regions[@]}" >/dev/null
python3 "$here/split_csv.py" --data "$root/data/online_shoppers_intention.csv" --label Revenue \
  --out "$work/data" --clients ${#regions[@]} --seed 42 > "$work/regions.tsv"
for r in "${regions[@]}"; do grep -q "^$r	" "$work/regions.tsv" || fail "split_csv.py made no $r"; done
read -r port status_port < <(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
python3 "$root/deploy/podman/render.py" --manifests "$root/deploy/kubernetes" --certs "$work/certs" \
  --out "$work/manifests" --port "$port" --status-port "$status_port" --rounds "$rounds" \
  "${regions[@]}" || fail "cannot render the manifests"

# 3. Storage, secrets, and the data each region's volume holds.
step start
for s in "${secrets[@]}"; do
  podman secret create "$s" "$work/manifests/$s.secret.json" >/dev/null || fail "podman secret create $s"
done
play() {  # play FILE: podman kube play on the host network; its output goes to a log
  podman kube play --network host "$1" >> "$work/kube-play.log" 2>&1 || {
    tail -n 20 "$work/kube-play.log" >&2; fail "podman kube play $1"; }
}
volume_dir() { podman volume inspect --format '{{.Mountpoint}}' "$1"; }
play "$work/manifests/coordinator-storage.yaml"
for r in "${regions[@]}"; do
  play "$work/manifests/$r-storage.yaml"
  d=$(volume_dir "fedseg-$r-data")
  install -m 0644 "$work/data/$r/train.csv" "$work/data/$r/test.csv" "$d/"
  # The region's ledger, created once before its first pod (deploy/kubernetes/region/
  # ledger-init-job.yaml in a cluster): a region never joins without one. As the pod's user.
  podman run --rm --network none --user 10001:10001 \
    -v "fedseg-$r-state:/var/lib/fedseg:U" \
    -v "$work/manifests/$r-region.json:/etc/fedseg/config/region.json:ro" \
    "$tag" fedseg-client ledger init --config /etc/fedseg/config/region.json >> "$work/ledger-init.log" 2>&1 ||
    { tail -n 5 "$work/ledger-init.log" >&2; fail "fedseg-client ledger init for $r"; }
done

status_json() {  # the coordinator's /status, as its readiness probe reads it (HTTPS, no client cert)
  curl -fsS --max-time 5 --tlsv1.3 --cacert "$work/certs/ca.crt" "https://127.0.0.1:$status_port/status"
}
status_field() {  # status_field PYTHON-EXPRESSION-ON-s: prints it, or nothing when not reachable
  local s
  s=$(status_json 2>/dev/null) || return 0
  python3 -c 'import json, sys; s = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$s" "$1"
}
wait_for() {  # wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.5 s until it succeeds
  local limit=$1 what=$2 t0=$SECONDS
  shift 2
  until "$@"; do
    (( SECONDS - t0 < limit )) || fail "no $what within $limit s"
    sleep 0.5
  done
}
ready() { [[ -n "$(status_field 's["phase"]')" ]]; }
rounds_at_least() { local n; n=$(status_field 's["completed_rounds"]'); [[ -n "$n" && "$n" -ge "$1" ]]; }
connected() { [[ "$(status_field "s['regions']['$1']['connected']")" == True ]]; }
ledger_json() {
  "$work/bin/fedseg-audit" verify "$(volume_dir "fedseg-$1-state")/ledger.jsonl" \
    --cert "$work/certs/$1.crt" --json
}
jget() { python3 -c 'import json, sys; print(eval(sys.argv[2], {"j": json.loads(sys.argv[1])}))' "$1" "$2"; }

play "$work/manifests/coordinator-app.yaml"
wait_for 60 "coordinator status endpoint" ready
for r in "${regions[@]}"; do play "$work/manifests/$r-app.yaml"; done
run_id=$(status_field 's["run_id"]')

# 4. A region's pod dies mid-run. The rendered config needs every region for a round
# (min_regions = 3), so from here the run waits for it: no race with the rounds.
step region-kill
wait_for 300 "round 1" rounds_at_least 1
podman pod rm -f -t 0 "fedseg-$victim-pod-0" >/dev/null || fail "cannot kill the pod of $victim"
# The ledger as the killed pod left it on the state volume, which its next pod mounts.
before=$(ledger_json "$victim") || fail "the ledger of $victim does not verify after the kill: $before"
eps_before=$(jget "$before" 'j["epsilon"]') entries_before=$(jget "$before" 'j["entries"]')
killed_at=$(status_field 's["completed_rounds"]')
echo "deploy_test.sh: killed $victim's pod after round $killed_at at epsilon $eps_before ($entries_before ledger entries)" >&2

# 5. Meanwhile the coordinator's pod is deleted (SIGTERM, as Kubernetes stops a pod) and played
# again: it resumes from its checkpoint.
step coordinator-restart
checkpointed=$(status_field 's["completed_rounds"]')
(( checkpointed < rounds )) || fail "the run ended before $victim's pod was killed (rounds too short?)"
podman pod rm -f -t 30 fedseg-coordinator-pod-0 >/dev/null || fail "cannot delete the coordinator's pod"
echo "deploy_test.sh: deleted the coordinator's pod after round $checkpointed" >&2
play "$work/manifests/coordinator-app.yaml"
wait_for 60 "coordinator status endpoint after the restart" ready
[[ "$(status_field 's["run_id"]')" == "$run_id" ]] || fail "the restarted coordinator started a new run"
run_dir=$(volume_dir fedseg-coordinator-run)/run
resumed_after=$(grep -o -m 1 "resuming run $run_id after round [0-9]*" "$run_dir/coordinator.log" | awk '{print $NF}')
[[ -n "$resumed_after" ]] || fail "the restarted coordinator did not resume from its checkpoint (see $run_dir/coordinator.log)"
(( resumed_after >= checkpointed && resumed_after < rounds )) \
  || fail "resumed after round $resumed_after; round $checkpointed was done when it stopped"

# The killed region's pod is played again with the same volumes; it must rejoin, and (checked at
# the end) train on with its ledger: ε continues from where it was.
step region-back
play "$work/manifests/$victim-app.yaml"
wait_for 120 "reconnection of $victim" connected "$victim"

# 6. The end of the run, and the checks outside the containers.
step finish
finished() { grep -q "coordinator finished: completed" "$run_dir/coordinator.log"; }
wait_for 600 "end of the federation" finished
sleep 1  # the Done frames reach the regions; then nothing may restart into a finished run
for p in "${pods[@]}"; do podman pod stop -t 10 "$p" >/dev/null 2>&1 || true; done
# Exactly the planned rounds: a coordinator restarted after the end must not train again.
completed=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["completed_round"])' "$run_dir/report.json")
[[ "$completed" -eq "$rounds" ]] || fail "report.json: $completed rounds completed, $rounds planned"
declare -A eps
for r in "${regions[@]}"; do
  v=$(ledger_json "$r") || fail "the ledger of $r does not verify: $v"
  eps[$r]=$(jget "$v" 'round(j["epsilon"], 4)')
  [[ $r == "$victim" ]] || continue
  entries_after=$(jget "$v" 'j["entries"]')
  (( entries_after > entries_before )) || fail "$victim's ledger did not grow after its restart ($entries_before -> $entries_after entries)"
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[2]) > float(sys.argv[1]) else 1)' \
    "$eps_before" "${eps[$r]}" || fail "$victim's epsilon did not continue: $eps_before before the kill, ${eps[$r]} at the end"
  # Continues, never resets: every recorded epsilon_after is at least the one before it.
  jget "$v" 'all(b["epsilon_after"] >= a["epsilon_after"] for a, b in zip(j["rounds"], j["rounds"][1:]))' \
    | grep -q True || fail "$victim's ledger has an epsilon that went down"
done
"$work/bin/fedseg-client" segment --model "$run_dir/final.fsm" \
  --data "$root/data/online_shoppers_intention.csv" --out "$work/segments.csv" > "$work/segment.log" 2>&1 \
  || fail "fedseg-client segment with the final model (see $work/segment.log)"
segmented=$(( $(wc -l < "$work/segments.csv") - 1 ))
[[ $segmented -eq 12330 ]] || fail "segmented $segmented users, expected the table's 12330"
step done

total=0
for s in "${steps[@]}"; do total=$((total + ${s##* })); done
eps_list=$(for r in "${regions[@]}"; do printf '%s=%s\n' "$r" "${eps[$r]}"; done)
steps_list=$(printf '%s\n' "${steps[@]}")
summary=$(IMAGE_FROM=$image_from IMAGE_BYTES=$image_bytes ROUNDS=$rounds RUN_ID=$run_id \
  VICTIM=$victim KILLED_AT=$killed_at EPS_BEFORE=$eps_before ENTRIES_BEFORE=$entries_before RESUMED=$resumed_after \
  SEGMENTED=$segmented TOTAL=$total EPS="$eps_list" STEPS="$steps_list" python3 -c '
import json, os
e = os.environ
pairs = lambda v, sep: [l.rsplit(sep, 1) for l in v.splitlines() if l]
print(json.dumps({
    "ok": True, "image_from": e["IMAGE_FROM"], "image_bytes": int(e["IMAGE_BYTES"]),
    "rounds": int(e["ROUNDS"]), "run_id": e["RUN_ID"], "killed_region": e["VICTIM"], "killed_after_round": int(e["KILLED_AT"]),
    "killed_at_epsilon": float(e["EPS_BEFORE"]), "killed_at_entries": int(e["ENTRIES_BEFORE"]),
    "coordinator_resumed_after_round": int(e["RESUMED"]), "segmented_users": int(e["SEGMENTED"]),
    "final_epsilon": {k: float(v) for k, v in pairs(e["EPS"], "=")},
    "seconds": {k: int(v) for k, v in pairs(e["STEPS"], " ")}, "total_seconds": int(e["TOTAL"])},
    indent=2))')
echo "$summary" > "$work/summary.json"
if [[ $json -eq 1 ]]; then
  echo "$summary"
else
  echo "deploy test passed in ${total} s (image from $image_from, $rounds rounds, run $run_id)"
  for s in "${steps[@]}"; do printf '  %-20s %5s s\n' "${s% *}" "${s##* }"; done
  echo "  $victim killed after round $killed_at at epsilon $eps_before; final epsilon:" $(for r in "${regions[@]}"; do printf '%s=%s ' "$r" "${eps[$r]}"; done)
  echo "  coordinator resumed after round $resumed_after; $segmented users segmented outside the containers"
fi
