#!/usr/bin/env python3
"""Splits one CSV table into federated regions for scripts/simulate.sh.

  split_csv.py --data F --label L --out DIR (--split-by COL | --clients N [--dirichlet ALPHA])
               [--test-fraction 0.2] [--seed 42] [--delimiter ,]

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
    with open(path, newline="", encoding="utf-8-sig") as f:
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--label", required=True)
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
    delim = a.delimiter or sniff_delimiter(a.data)
    with open(a.data, newline="", encoding="utf-8-sig") as f:
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
            with open(os.path.join(a.out, name, part + ".csv"), "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f, delimiter=",", lineterminator="\n")
                w.writerow(header)
                w.writerows(data)
        print(f"{name}\t{len(train)}\t{len(test)}")


if __name__ == "__main__":
    main()
