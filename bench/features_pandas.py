#!/usr/bin/python3
"""The pandas reference of bench/features_bench.sh: the same per-user features as the fedseg spec
the bench writes, computed with read_csv + groupby().agg() on the same synthetic log.

  features_pandas.py LOG.csv OUT.csv [--reference 2024-01-01]

Prints one JSON line: {"rows", "users", "seconds"} (seconds: read + aggregate, not the write).
"""
import argparse
import json
import time

import numpy as np
import pandas as pd


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log")
    ap.add_argument("out")
    ap.add_argument("--reference", default="2024-01-01")
    a = ap.parse_args()
    t0 = time.perf_counter()
    df = pd.read_csv(a.log, dtype={"user_id": str, "category": str, "amount": np.float64})
    ts = pd.to_datetime(df["ts"], format="%Y-%m-%d")
    ref = pd.Timestamp(a.reference)
    df["days"] = (ts - ref).dt.days.astype(np.float64)  # negative: before the reference
    df = df[df["days"] < 0]
    df["is_a"] = (df["category"] == "A").astype(np.float64)
    df["last30"] = (df["days"] >= -30).astype(np.float64)
    g = df.groupby("user_id", sort=False).agg(
        events=("amount", "size"),
        amount_sum=("amount", "sum"),
        amount_mean=("amount", "mean"),
        amount_min=("amount", "min"),
        amount_max=("amount", "max"),
        amount_std=("amount", "std"),
        last=("days", "max"),
        first=("days", "min"),
        share_a=("is_a", "mean"),
        events_last_30_days=("last30", "sum"),
    )
    # Population standard deviation (fedseg's): pandas' std is the sample one.
    n = g["events"].astype(np.float64)
    g["amount_std"] = (g["amount_std"] * np.sqrt((n - 1) / n)).fillna(0.0)
    g["recency"] = -g["last"]
    g["tenure"] = -g["first"]
    g = g.drop(columns=["last", "first"])
    seconds = time.perf_counter() - t0
    g.to_csv(a.out)
    print(json.dumps({"rows": int(len(df)), "users": int(len(g)), "seconds": seconds}))


if __name__ == "__main__":
    main()
