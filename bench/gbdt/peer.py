#!/usr/bin/env python3
"""Peer side of bench/gbdt: makes the data sets and times XGBoost 1.7 hist on them.

  /usr/bin/python3 peer.py data DIR          -> writes DIR/{binary,regression}_{train,test}.{x.f32,y.f32} + meta.json
  /usr/bin/python3 peer.py xgb DIR THREADS [REPEAT] -> trains XGBoost on both sets REPEAT times, prints one JSON
                                              line per set (median train time, median of 5 batch predictions)

Data: binary = sklearn make_classification (HIGGS-shaped: 200k train / 50k test x 28, seed 42, like
../../../shared/bench/gen_data.py); regression = make_friedman1-style nonlinear target plus 18 noise columns
(200k/50k x 28, seed 7). Raw little-endian float32, row-major.
"""
import json, os, sys, time
import numpy as np

ROUNDS, DEPTH, ETA, BINS = 100, 6, 0.1, 256

def make_data(out):
    from sklearn.datasets import make_classification
    os.makedirs(out, exist_ok=True)
    X, y = make_classification(n_samples=250_000, n_features=28, n_informative=12, n_redundant=6,
                               n_repeated=0, n_classes=2, n_clusters_per_class=4, class_sep=0.8,
                               flip_y=0.05, shuffle=True, random_state=42)
    sets = {"binary": (X.astype(np.float32), y.astype(np.float32))}
    rng = np.random.RandomState(7)
    Xr = rng.uniform(size=(250_000, 28)).astype(np.float32)
    yr = (10 * np.sin(np.pi * Xr[:, 0] * Xr[:, 1]) + 20 * (Xr[:, 2] - 0.5) ** 2 + 10 * Xr[:, 3] + 5 * Xr[:, 4]
          + 3 * Xr[:, 5] * Xr[:, 6] + rng.normal(scale=1.0, size=250_000)).astype(np.float32)
    sets["regression"] = (Xr, yr)
    for name, (X, y) in sets.items():
        for part, sl in (("train", slice(0, 200_000)), ("test", slice(200_000, None))):
            np.ascontiguousarray(X[sl]).tofile(os.path.join(out, f"{name}_{part}.x.f32"))
            np.ascontiguousarray(y[sl]).tofile(os.path.join(out, f"{name}_{part}.y.f32"))
    json.dump({"features": 28, "train": 200_000, "test": 50_000}, open(os.path.join(out, "meta.json"), "w"))

def load(d, name, part):
    X = np.fromfile(os.path.join(d, f"{name}_{part}.x.f32"), dtype=np.float32).reshape(-1, 28)
    y = np.fromfile(os.path.join(d, f"{name}_{part}.y.f32"), dtype=np.float32)
    return X, y

def run_xgb(d, nt, repeat):
    import xgboost as xgb
    from sklearn.metrics import roc_auc_score
    for name, obj in (("binary", "binary:logistic"), ("regression", "reg:squarederror")):
        Xtr, ytr = load(d, name, "train")
        Xte, yte = load(d, name, "test")
        p = dict(objective=obj, tree_method="hist", max_depth=DEPTH, eta=ETA, max_bin=BINS, nthread=nt, verbosity=0)
        ts = []
        for _ in range(repeat):
            t = time.perf_counter()
            bst = xgb.train(p, xgb.DMatrix(Xtr, label=ytr, nthread=nt), num_boost_round=ROUNDS)
            ts.append(time.perf_counter() - t)
        bst.inplace_predict(Xte[:100])
        tps = []
        for _ in range(5):
            t = time.perf_counter(); pred = bst.inplace_predict(Xte); tps.append(time.perf_counter() - t)
        tp = float(np.median(tps))
        n1 = 2000
        t = time.perf_counter()
        for i in range(n1):
            bst.inplace_predict(Xte[i:i + 1])
        t1 = (time.perf_counter() - t) / n1
        q = float(roc_auc_score(yte, pred)) if name == "binary" else float(np.sqrt(np.mean((pred - yte) ** 2)))
        print(json.dumps({"set": name, "threads": nt, "train_s": float(np.median(ts)), "train_all_s": ts, "quality": q,
                          "batch_rows_per_s": len(Xte) / tp, "single_row_us": t1 * 1e6}), flush=True)

if __name__ == "__main__":
    if sys.argv[1] == "data":
        make_data(sys.argv[2])
    else:
        run_xgb(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 1)
