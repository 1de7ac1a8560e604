#!/usr/bin/python3
"""The pandas + scikit-learn reference for the feature examples (docs/quality.md, issue 13).

  features_reference.py cdnow FEATURES.csv [--raw data/cdnow_master.txt]
  features_reference.py superstore FEATURES.csv

cdnow: recomputes the eight features of examples/features/cdnow.json and its label with pandas
from the raw log, checks that they equal fedseg's table (FEATURES.csv, from `fedseg-client
features`), then fits logistic regression and an MLP on a stratified 80/20 split of the customers
(seed 42) and prints the test ROC AUC. superstore: the same models on fedseg's table, macro
one-vs-rest ROC AUC for the three Segments. Prints JSON. Needs python3-pandas and python3-sklearn (scripts/install-deps.sh --reference).
"""
import argparse
import json

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def cdnow_features(raw):
    df = pd.read_csv(raw, sep=r"\s+", header=None, names=["customer_id", "date", "cds", "dollars"],
                     dtype={"customer_id": str, "date": str})
    df["day"] = (pd.to_datetime(df["date"], format="%Y%m%d") - pd.Timestamp("1998-01-01")).dt.days
    before = df[(df["day"] >= -365) & (df["day"] < 0)]
    g = before.groupby("customer_id").agg(
        frequency=("day", "size"), purchase_days=("date", "nunique"), monetary=("dollars", "sum"),
        mean_order_value=("dollars", "mean"), cds=("cds", "sum"), last=("day", "max"), first=("day", "min"))
    g["recency_days"] = -g.pop("last")
    g["tenure_days"] = -g.pop("first")
    g["purchases_last_90_days"] = before[before["day"] >= -90].groupby("customer_id").size()
    g["purchases_last_90_days"] = g["purchases_last_90_days"].fillna(0)
    later = df[(df["day"] >= 0) & (df["day"] < 181)]["customer_id"].unique()
    g["buys_next_6_months"] = g.index.isin(later).astype(int)
    return g


def evaluate(x, y):
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, stratify=y, random_state=42)
    out = {}
    models = {
        "logistic_regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        "mlp": make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=300,
                                                             early_stopping=True, random_state=42)),
    }
    for name, m in models.items():
        m.fit(xtr, ytr)
        p = m.predict_proba(xte)
        if p.shape[1] == 2:
            out[name] = roc_auc_score(yte, p[:, 1])
        else:
            out[name] = roc_auc_score(yte, p, multi_class="ovr", average="macro")
    out["test_rows"] = int(len(yte))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("example", choices=["cdnow", "superstore"])
    ap.add_argument("features")
    ap.add_argument("--raw", default="data/cdnow_master.txt")
    a = ap.parse_args()
    ours = pd.read_csv(a.features, dtype={"customer_id": str}).set_index("customer_id").sort_index()
    result = {"example": a.example, "rows": int(len(ours))}
    if a.example == "cdnow":
        ref = cdnow_features(a.raw).sort_index()[ours.columns]
        assert ref.index.equals(ours.index), "different customers"
        diff = max(float(np.max(np.abs(ref[c] - ours[c]) / np.maximum(1.0, np.abs(ref[c])))) for c in ours.columns)
        result["max_relative_difference_vs_pandas"] = diff
        label = "buys_next_6_months"
    else:
        label = "Segment"
    y = ours[label].astype(str)
    x = ours.drop(columns=[label]).fillna(0.0)
    result.update(evaluate(x.values, y.values))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
