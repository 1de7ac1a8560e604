#!/usr/bin/env python3
"""Splits one CSV table into federated regions for scripts/simulate.sh.

  split_csv.py --data F --label L --out DIR (--split-by COL | --clients N [--dirichlet ALPHA])
               [--test-fraction 0.2] [--seed 42] [--delimiter ,]
  split_csv.py --spec S --out DIR (--split-by COL | --clients N) [--seed 42]

With --spec (a feature spec, docs/features.md), the raw sources are split instead: by a column of
the event sources (each region gets the rows with its value; a user who has rows with several
values becomes a user of each of those regions, as on a real platform), or by user id into N
regions. A profile source follows its users. Writes DIR/<region>/<source files> (same encoding and
format) and DIR/<region>/spec.json (the same spec reading them), and prints
`<region>\t<users>\t<event rows>` per region.

Writes DIR/<region>/train.csv and DIR/<region>/test.csv (a stratified split of each region's rows,
so every region keeps its own held-out test rows), then prints one line per region:
`<region>\t<train rows>\t<test rows>`. Regions are named after the split column's values
(`Region-1`) or numbered (`region-01`). Dirichlet(alpha) shards draw each label's share of every
region from Dir(alpha): small alpha means highly non-IID label mixes. Standard library only.
"""
import argparse
import csv
import math
import os
import random
import re
import sys


def sniff_delimiter(path):
    with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as f:
        head = f.readline()
    counts = {d: head.count(d) for d in [",", ";", "\t", "|"]}
    return max(counts, key=counts.get)


def stratified(rows, label_idx, test_fraction, rng):
    by = {}
    for r in rows:
        by.setdefault(r[label_idx], []).append(r)
    train, test = [], []
    for label in sorted(by):
        group = by[label]
        rng.shuffle(group)
        n_test = int(round(len(group) * test_fraction))
        if len(group) >= 2 and test_fraction > 0:
            n_test = max(1, min(n_test, len(group) - 1))
        test += group[:n_test]
        train += group[n_test:]
    return train, test


def safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


# --- Raw sources of a feature spec (--spec) ---------------------------------------------------
def load_spec(path):
    import json
    with open(path, encoding="utf-8") as f:
        text = "".join(l for l in f if not l.lstrip().startswith("//"))
    return json.loads(text)


def read_source(src, base):
    """(header or None, rows as lists, raw lines) of one source; raw lines only for headerless files."""
    path = os.path.join(base, src["path"])
    enc = "cp1252" if src.get("encoding", "utf-8") in ("windows-1252", "cp1252") else "utf-8-sig"
    delim = src.get("delimiter", ",")
    with open(path, newline="", encoding=enc, errors="surrogateescape") as f:
        if delim == "whitespace":
            lines = [l for l in f if l.strip()]
            return None, [l.split() for l in lines], lines
        delim = "\t" if delim == "tab" else delim
        rows = [r for r in csv.reader(f, delimiter=delim) if r]
    if src.get("header", True):
        return rows[0], rows[1:], None
    return None, rows, None


def split_spec(a):
    import json
    spec = load_spec(a.spec)
    base = os.path.dirname(os.path.abspath(a.spec))
    sources = spec["sources"]
    profile = (spec.get("profile") or {}).get("source")
    data = {}
    for name, src in sources.items():
        header, rows, lines = read_source(src, base)
        names = header if header is not None else src.get("columns", [])
        data[name] = (header, rows, lines, names)
    events = [n for n in sources if n != profile]
    region_of = {}  # (source, row index) -> region
    users_in = {}   # region -> set of user ids
    if a.split_by:
        for n in events:
            names = data[n][3]
            if a.split_by not in names:
                sys.exit(f"split_csv.py: {a.spec}: event source '{n}' has no column '{a.split_by}' "
                         f"(columns: {', '.join(names)})")
            col, uid = names.index(a.split_by), names.index(sources[n]["user_id"])
            for i, r in enumerate(data[n][1]):
                region = safe(f"{a.split_by}-{r[col].strip()}")
                region_of[(n, i)] = region
                users_in.setdefault(region, set()).add(r[uid].strip())
    else:
        if a.clients < 1:
            sys.exit("split_csv.py: --clients must be >= 1")
        ids = sorted({r[data[n][3].index(sources[n]["user_id"])].strip() for n in sources for r in data[n][1]})
        random.Random(a.seed).shuffle(ids)
        home = {u: f"region-{i % a.clients + 1:02d}" for i, u in enumerate(ids)}
        for n in events:
            uid = data[n][3].index(sources[n]["user_id"])
            for i, r in enumerate(data[n][1]):
                region_of[(n, i)] = home[r[uid].strip()]
                users_in.setdefault(home[r[uid].strip()], set()).add(r[uid].strip())
    key = lambda k: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", k)]
    for region in sorted(users_in, key=key):
        out_dir = os.path.join(a.out, region)
        os.makedirs(out_dir, exist_ok=True)
        region_spec = json.loads(json.dumps(spec))
        n_events = 0
        for n, src in sources.items():
            header, rows, lines, names = data[n]
            uid = names.index(src["user_id"])
            if n == profile:
                keep = [i for i, r in enumerate(rows) if r[uid].strip() in users_in[region]]
            else:
                keep = [i for i in range(len(rows)) if region_of[(n, i)] == region]
                n_events += len(keep)
            fname = os.path.basename(src["path"])
            enc = "cp1252" if src.get("encoding", "utf-8") in ("windows-1252", "cp1252") else "utf-8"
            with open(os.path.join(out_dir, fname), "w", newline="", encoding=enc, errors="surrogateescape") as f:
                if lines is not None:
                    f.writelines(lines[i] for i in keep)
                else:
                    delim = src.get("delimiter", ",")
                    w = csv.writer(f, delimiter="\t" if delim == "tab" else delim, lineterminator="\n")
                    if header is not None:
                        w.writerow(header)
                    w.writerows(rows[i] for i in keep)
            region_spec["sources"][n]["path"] = fname
        with open(os.path.join(out_dir, "spec.json"), "w", encoding="utf-8") as f:
            json.dump(region_spec, f, indent=2)
        print(f"{region}\t{len(users_in[region])}\t{n_events}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data")
    ap.add_argument("--label")
    ap.add_argument("--spec")
    ap.add_argument("--out", required=True)
    ap.add_argument("--split-by")
    ap.add_argument("--clients", type=int)
    ap.add_argument("--dirichlet", type=float)
    ap.add_argument("--test-fraction", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--delimiter")
    a = ap.parse_args()
    if a.split_by is not None and a.clients is not None:
        sys.exit("split_csv.py: give either --split-by COL or --clients N, not both")
    if a.split_by is None and a.clients is None:
        sys.exit("split_csv.py: give --split-by COL or --clients N")
    if a.clients is not None and a.clients < 1:
        sys.exit(f"split_csv.py: --clients must be a whole number >= 1 (got {a.clients})")
    if a.dirichlet is not None:
        # Dir(alpha) needs alpha > 0 (gammavariate fails otherwise); 0 must not mean "even".
        if a.clients is None:
            sys.exit("split_csv.py: --dirichlet applies to --clients N only")
        if not (a.dirichlet > 0 and math.isfinite(a.dirichlet)):
            sys.exit(f"split_csv.py: --dirichlet must be a number > 0 (got {a.dirichlet})")
    if not 0 <= a.test_fraction < 1:
        sys.exit(f"split_csv.py: --test-fraction must be in [0, 1) (got {a.test_fraction})")
    if a.spec:
        return split_spec(a)
    if not a.data or not a.label:
        sys.exit("split_csv.py: --data and --label are required (or --spec)")
    delim = a.delimiter or sniff_delimiter(a.data)
    with open(a.data, newline="", encoding="utf-8-sig", errors="surrogateescape") as f:
        reader = csv.reader(f, delimiter=delim)
        header = next(reader)
        rows = [r for r in reader if r]
    if a.label not in header:
        sys.exit(f"split_csv.py: {a.data}: no column '{a.label}' (columns: {', '.join(header)})")
    label_idx = header.index(a.label)
    rng = random.Random(a.seed)
    regions = {}
    if a.split_by:
        if a.split_by not in header:
            sys.exit(f"split_csv.py: {a.data}: no column '{a.split_by}' to split by")
        col = header.index(a.split_by)
        for r in rows:
            regions.setdefault(safe(f"{a.split_by}-{r[col]}"), []).append(r)
        # Natural order: Region-2 before Region-10.
        key = lambda k: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", k)]
        regions = {k: regions[k] for k in sorted(regions, key=key)}
    else:
        n = a.clients
        names = [f"region-{i + 1:02d}" for i in range(n)]
        for name in names:
            regions[name] = []
        if a.dirichlet is not None:
            by = {}
            for r in rows:
                by.setdefault(r[label_idx], []).append(r)
            for label in sorted(by):
                group = by[label]
                rng.shuffle(group)
                w = [rng.gammavariate(a.dirichlet, 1.0) for _ in names]
                total = sum(w)
                cuts, acc = [], 0.0
                for x in w[:-1]:
                    acc += x / total
                    cuts.append(int(round(acc * len(group))))
                bounds = [0] + cuts + [len(group)]
                for i, name in enumerate(names):
                    regions[name] += group[bounds[i]:bounds[i + 1]]
        else:
            shuffled = rows[:]
            rng.shuffle(shuffled)
            for i, r in enumerate(shuffled):
                regions[names[i % n]].append(r)
    for name, rs in regions.items():
        train, test = stratified(rs, label_idx, a.test_fraction, rng)
        os.makedirs(os.path.join(a.out, name), exist_ok=True)
        for part, data in (("train", train), ("test", test)):
            with open(os.path.join(a.out, name, part + ".csv"), "w", newline="", encoding="utf-8", errors="surrogateescape") as f:
                w = csv.writer(f, delimiter=",", lineterminator="\n")
                w.writerow(header)
                w.writerows(data)
        print(f"{name}\t{len(train)}\t{len(test)}")


if __name__ == "__main__":
    main()
