#!/usr/bin/env python3
"""Renders deploy/kubernetes/ for `podman kube play` on one host (scripts/deploy_test.sh).

  render.py --manifests deploy/kubernetes --certs DIR --out DIR --port P --status-port S
            [--rounds 5] [--local-epochs 30] REGION...

What changes, and why (everything else is played as written):
- coordinator.json: listen and status on 127.0.0.1 at free ports (host network: nothing may leave
  the loopback), the test's regions and rounds, short deadlines, enough local epochs that a
  round lasts a few seconds, and a quorum of every region (min_regions = all): a round cannot
  finish without the region whose pod the test kills, so the run waits for it to come back;
- region.json: the region's name, the coordinator at 127.0.0.1, one training thread, short backoff;
- containers lose their `ports` list: on the host network the processes bind the host's ports
  themselves, and podman refuses port mappings there (the probes get the status port's number);
- each region's objects get the region in their names (fedseg-region-tls -> fedseg-region-01-tls),
  as one kustomize overlay per region would, since here all regions share one podman;
- Secrets become JSON files for `podman secret create` holding the PEM text itself, not base64:
  podman 4.3 writes a kube Secret's `data` values into the volume without decoding them
  (containers/podman#17071), so a Secret played from YAML would give the pod base64 text.
Writes OUT/coordinator-storage.yaml (PVCs: played once), OUT/coordinator-app.yaml (ConfigMap and
Deployment: played again to restart), the same per region, and OUT/<secret>.secret.json.
Needs python3-yaml.
"""
import argparse
import copy
import json
import os
import sys

import yaml


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def rename(obj, old, new):
    """Renames every object name and reference that starts with `old` (kustomize nameSuffix)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("name", "secretName", "claimName") and isinstance(v, str) and v.startswith(old):
                obj[k] = new + v[len(old):]
            else:
                rename(v, old, new)
    elif isinstance(obj, list):
        for v in obj:
            rename(v, old, new)


def patch_config(doc, key, fn):
    cfg = json.loads(doc["data"][key])
    fn(cfg)
    doc["data"][key] = json.dumps(cfg, indent=2) + "\n"


def write(path, docs):
    with open(path, "w") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)


def secret(out, name, certs, cert_name):
    data = {}
    for key, file in (("ca.crt", "ca.crt"), ("tls.crt", cert_name + ".crt"),
                      ("tls.key", cert_name + ".key")):
        with open(os.path.join(certs, file)) as f:
            data[key] = f.read()
    doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque",
           "data": data}
    path = os.path.join(out, name + ".secret.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f)


def drop_ports(docs, probe_port=None):
    for d in docs:
        if d["kind"] == "Deployment":
            for c in d["spec"]["template"]["spec"]["containers"]:
                c.pop("ports", None)
                for probe in ("readinessProbe", "livenessProbe"):
                    if probe in c and "httpGet" in c[probe]:
                        c[probe]["httpGet"]["port"] = probe_port  # the named port is gone


def split(docs):
    storage = [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    app = [d for d in docs if d["kind"] in ("ConfigMap", "Deployment")]
    return storage, app


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifests", required=True)
    ap.add_argument("--certs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--status-port", type=int, required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--local-epochs", type=int, default=30)
    ap.add_argument("regions", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    def coordinator_json(c):
        c["listen"].update(host="127.0.0.1", port=a.port)
        c["status"].update(listen="127.0.0.1", port=a.status_port)
        c["regions"] = a.regions
        c["training"].update(rounds=a.rounds, local_epochs=a.local_epochs)
        c["federation"].update(round_deadline_s=120, join_timeout_s=30,
                               min_regions=len(a.regions))

    docs = []
    for f in ("configmap.yaml", "pvc.yaml", "deployment.yaml"):
        docs += load(os.path.join(a.manifests, "coordinator", f))
    for d in docs:
        if d["kind"] == "ConfigMap":
            patch_config(d, "coordinator.json", coordinator_json)
    drop_ports(docs, a.status_port)
    storage, app = split(docs)
    write(os.path.join(a.out, "coordinator-storage.yaml"), storage)
    write(os.path.join(a.out, "coordinator-app.yaml"), app)
    secret(a.out, "fedseg-coordinator-tls", a.certs, "coordinator")

    template = []
    for f in ("configmap.yaml", "pvc.yaml", "deployment.yaml"):
        template += load(os.path.join(a.manifests, "region", f))
    for r in a.regions:
        docs = copy.deepcopy(template)
        rename(docs, "fedseg-region", "fedseg-" + r)

        def region_json(c, r=r):
            c["region"] = r
            c["coordinator"].update(host="127.0.0.1", port=a.port, backoff_initial_ms=200,
                                    backoff_max_ms=2000, give_up_after_s=300)
            c["threads"] = 1

        for d in docs:
            if d["kind"] == "ConfigMap":
                patch_config(d, "region.json", region_json)
                # The rendered config on its own, for `fedseg-client ledger init` (run once per
                # region before its first pod, as the operator does with ledger-init-job.yaml).
                with open(os.path.join(a.out, r + "-region.json"), "w") as f:
                    f.write(d["data"]["region.json"])
        drop_ports(docs)
        storage, app = split(docs)
        write(os.path.join(a.out, r + "-storage.yaml"), storage)
        write(os.path.join(a.out, r + "-app.yaml"), app)
        secret(a.out, "fedseg-%s-tls" % r, a.certs, r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
