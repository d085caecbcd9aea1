#!/usr/bin/env python3
"""Peer side of bench/ml: scikit-learn 1.2 on the bench/gbdt binary data (200k x 28 train, 50k test).

  /usr/bin/python3 peer.py DATA_DIR THREADS  -> reads one JSON command a line on stdin, answers one JSON line:
      {"algo": "logistic"}            -> {"train_s", "logloss"}   (StandardScaler + LogisticRegression(C=1, lbfgs))
      {"algo": "kmeans", "seed": 3}   -> {"train_s", "inertia", "iterations"}  (KMeans k=8, n_init=1, lloyd;
                                                                              "max_iter" optional, 300)
      {"algo": "pca"}                 -> {"train_s", "explained_variance"}     (PCA(5, svd_solver=full))
  Every answer also has "cpu_s" (process CPU seconds of the call). run.mjs drives it so that scikit-learn
  and Trainyard alternate run by run (threadpoolctl-limited).
"""
import json, os, sys, time
import numpy as np
from threadpoolctl import threadpool_limits
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

d, nt = sys.argv[1], int(sys.argv[2])
load = lambda part: (np.fromfile(os.path.join(d, f"binary_{part}.x.f32"), dtype=np.float32).reshape(-1, 28),
                     np.fromfile(os.path.join(d, f"binary_{part}.y.f32"), dtype=np.float32))
Xtr, ytr = load("train")
Xte, yte = load("test")

with threadpool_limits(limits=nt):
    for line in sys.stdin:
        c = json.loads(line)
        t = time.perf_counter()
        cpu = time.process_time()
        if c["algo"] == "logistic":
            sc = StandardScaler().fit(Xtr)
            m = LogisticRegression(C=1.0, max_iter=1000, solver="lbfgs").fit(sc.transform(Xtr), ytr)
            s = time.perf_counter() - t
            out = {"train_s": s, "logloss": float(log_loss(yte, m.predict_proba(sc.transform(Xte))[:, 1]))}
        elif c["algo"] == "kmeans":
            km = KMeans(n_clusters=8, n_init=1, init="k-means++", max_iter=c.get("max_iter", 300), tol=1e-4, algorithm="lloyd",
                        random_state=c["seed"]).fit(Xtr)
            s = time.perf_counter() - t
            out = {"train_s": s, "inertia": float(km.inertia_), "iterations": int(km.n_iter_)}
        else:
            p = PCA(n_components=5, svd_solver="full").fit(Xtr)
            s = time.perf_counter() - t
            out = {"train_s": s, "explained_variance": float(p.explained_variance_.sum())}
        out["cpu_s"] = time.process_time() - cpu
        print(json.dumps(out), flush=True)
