#!/usr/bin/env python3
"""Peer side of bench/gbdt: makes the data sets and times XGBoost 1.7 hist on them.

  /usr/bin/python3 peer.py data DIR          -> writes DIR/{binary,regression}_{train,test}.{x.f32,y.f32} + meta.json
  /usr/bin/python3 peer.py serve DIR        -> reads one JSON command a line on stdin, answers one JSON line:
      {"op": "train", "set": "binary", "threads": 1}   -> {"train_s", "cpu_s", "quality"} (one training; the model is kept)
      {"op": "predict", "set": "binary", "threads": 2} -> {"predict_s"} (one batch prediction of the test rows)
      {"op": "single", "set": "binary"}                -> {"single_row_us"} (mean over 2000 1-row predictions)
  run.mjs drives it so that XGBoost and Trainyard alternate run by run.

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

def serve(d):
    import xgboost as xgb
    from sklearn.metrics import roc_auc_score
    data, models = {}, {}
    for line in sys.stdin:
        c = json.loads(line)
        name, nt = c["set"], c.get("threads", 1)
        if name not in data:
            data[name] = (load(d, name, "train"), load(d, name, "test"))
        (Xtr, ytr), (Xte, yte) = data[name]
        if c["op"] == "train":
            obj = "binary:logistic" if name == "binary" else "reg:squarederror"
            p = dict(objective=obj, tree_method="hist", max_depth=DEPTH, eta=ETA, max_bin=BINS, nthread=nt,
                     verbosity=0)
            t = time.perf_counter()
            c = time.process_time()
            bst = xgb.train(p, xgb.DMatrix(Xtr, label=ytr, nthread=nt), num_boost_round=ROUNDS)
            train_s = time.perf_counter() - t
            cpu_s = time.process_time() - c
            models[name] = bst
            pred = bst.inplace_predict(Xte)
            q = float(roc_auc_score(yte, pred)) if name == "binary" else float(np.sqrt(np.mean((pred - yte) ** 2)))
            out = {"train_s": train_s, "cpu_s": cpu_s, "quality": q}
        elif c["op"] == "predict":
            bst = models[name]
            bst.set_param({"nthread": nt})
            bst.inplace_predict(Xte[:100])
            t = time.perf_counter()
            bst.inplace_predict(Xte)
            out = {"predict_s": time.perf_counter() - t}
        else:
            bst = models[name]
            bst.set_param({"nthread": 1})
            n1 = 2000
            t = time.perf_counter()
            for i in range(n1):
                bst.inplace_predict(Xte[i:i + 1])
            out = {"single_row_us": (time.perf_counter() - t) / n1 * 1e6}
        print(json.dumps(out), flush=True)

if __name__ == "__main__":
    if sys.argv[1] == "data":
        make_data(sys.argv[2])
    else:
        serve(sys.argv[2])
