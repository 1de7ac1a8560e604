#!/usr/bin/python3
"""Prints scikit-learn's metrics on fixed vectors as C++ constants for tests/common/ml/metrics_test.cc.

Usage (Debian: apt-get install python3-sklearn python3-numpy):
    /usr/bin/python3 tests/common/ml/gen_metrics_reference.py > /tmp/ref.inc
then replace the block between the "BEGIN/END GENERATED" markers in metrics_test.cc with the output.

Probabilities are rounded to float32 before sklearn sees them, because fedseg's summaries take
float32; they are printed with 9 significant digits, which round-trips float32 exactly. log_loss uses
eps=1e-15 with sklearn's clip-and-renormalise (what ClassificationSummary implements). All metrics
use labels=range(K) and zero_division=0.
"""

import numpy as np
import sklearn
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def binary_case():
    labels = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 0, 0]
    p1 = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.65, 0.55, 0.3, 0.05, 0.5, 0.5,
          0.7, 0.15, 0.95, 0.6, 0.35, 0.35, 1e-6, 0.999, 0.0, 1.0, 0.25, 0.42]
    p1 = np.asarray(p1, dtype=np.float32)
    p0 = np.float32(1) - p1  # computed in float32, so rows may not sum to exactly 1
    return labels, np.stack([p0, p1], axis=1)


def never_predicted_case(rng):
    # 3 classes; class 2 has rows but is never the argmax (precision 0/0 -> 0).
    n = 30
    labels = np.arange(n) % 3
    probs = rng.dirichlet([1.0, 1.0, 1.0], size=n)
    probs[np.arange(n), labels] += 0.3
    probs /= probs.sum(axis=1, keepdims=True)
    for row in probs:
        top = int(np.argmax(row[:2]))
        if row[2] > row[top]:
            row[2], row[top] = row[top], row[2]
    probs[5] = [0.6, 0.4, 0.0]  # label 2: p_true = 0 exercises the 1e-15 clip
    return labels.tolist(), probs.astype(np.float32)


def perfect_case():
    labels = [0, 1, 2, 2, 1, 0, 0, 2, 1, 1, 2, 0]
    probs = []
    for i, y in enumerate(labels):
        row = [0.1, 0.1, 0.1]
        row[y] = 0.8
        if i == 3:
            row = [0.0, 0.0, 1.0]
        probs.append(row)
    return labels, np.asarray(probs, dtype=np.float32)


def four_class_case(rng):
    n = 160
    labels = rng.choice(4, size=n, p=[0.4, 0.3, 0.2, 0.1])
    logits = rng.normal(0.0, 1.5, size=(n, 4))
    logits[np.arange(n), labels] += 1.2
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    return labels.tolist(), probs.astype(np.float32)


def sk_log_loss(y, p, k):
    try:
        return log_loss(y, p, eps=1e-15, labels=list(range(k)))
    except TypeError:  # sklearn >= 1.5 removed eps; clip at 1e-15 and renormalise ourselves
        q = np.clip(p, 1e-15, 1 - 1e-15)
        q /= q.sum(axis=1, keepdims=True)
        return float(np.mean(-np.log(q[np.arange(len(y)), y])))


def fmt_double(x):
    x = float(x)
    if np.isnan(x):
        return "kNaN"
    return repr(x)


def fmt_float(x):
    s = "%.9g" % x
    if not any(ch in s for ch in ".en"):
        s += ".0"  # "1f" is not a C++ literal
    return s + "f"


def emit(name, labels, probs):
    y = np.asarray(labels)
    p = f32(probs)
    n, k = p.shape
    pred = np.argmax(p, axis=1)  # first max, as ClassificationSummary
    ks = list(range(k))
    prec, rec, f1, sup = precision_recall_fscore_support(
        y, pred, labels=ks, average=None, zero_division=0)
    if k == 2:
        auc = roc_auc_score(y, p[:, 1])
    else:
        auc = roc_auc_score(y, p, multi_class="ovr", average="macro", labels=ks)
    per_class_auc = [roc_auc_score(y == c, p[:, c]) for c in ks]
    cm = confusion_matrix(y, pred, labels=ks)

    def vec(xs, f):
        return "{" + ", ".join(f(x) for x in xs) + "}"

    probs_flat = np.asarray(probs, dtype=np.float32).reshape(-1)  # row-major n x K = column-major K x n
    print(f"const Reference {name} = {{")
    print(f"    .num_classes = {k},")
    print(f"    .labels = {vec(labels, str)},")
    print("    .probs = {")
    for i in range(0, len(probs_flat), 6):
        print("        " + ", ".join(fmt_float(v) for v in probs_flat[i:i + 6]) + ",")
    print("    },")
    print(f"    .accuracy = {fmt_double(accuracy_score(y, pred))},")
    print(f"    .precision = {vec(prec, fmt_double)},")
    print(f"    .recall = {vec(rec, fmt_double)},")
    print(f"    .f1 = {vec(f1, fmt_double)},")
    print(f"    .support = {vec(sup, str)},")
    print(f"    .macro_f1 = {fmt_double(f1_score(y, pred, labels=ks, average='macro', zero_division=0))},")
    print(f"    .weighted_f1 = "
          f"{fmt_double(f1_score(y, pred, labels=ks, average='weighted', zero_division=0))},")
    print(f"    .cohen_kappa = {fmt_double(cohen_kappa_score(y, pred, labels=ks))},")
    print(f"    .roc_auc = {fmt_double(auc)},")
    print(f"    .per_class_roc_auc = {vec(per_class_auc, fmt_double)},")
    print(f"    .log_loss = {fmt_double(sk_log_loss(y, p, k))},")
    print(f"    .confusion = {vec(cm.reshape(-1), str)},")
    print("};")
    print()
    return y, pred


def main():
    rng = np.random.default_rng(20240501)
    print(f"// Generated by tests/common/ml/gen_metrics_reference.py with scikit-learn {sklearn.__version__},"
          f" numpy {np.__version__}.")
    emit("kBinaryRef", *binary_case())
    y, pred = emit("kNeverPredictedRef", *never_predicted_case(rng))
    emit("kPerfectRef", *perfect_case())
    emit("kFourClassRef", *four_class_case(rng))
    report = classification_report(
        y, pred, labels=[0, 1, 2], target_names=["alpha", "beta", "gamma"], digits=4,
        zero_division=0)
    print("// sklearn.metrics.classification_report(digits=4) of kNeverPredictedRef.")
    print(f'const char kNeverPredictedSklearnText[] = R"({report})";')


if __name__ == "__main__":
    main()
