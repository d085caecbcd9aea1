#!/usr/bin/env python3
"""Peer side of bench/ml: scikit-learn 1.2 on the bench/gbdt binary data (200k x 28 train, 50k test).

  /usr/bin/python3 peer.py DATA_DIR THREADS  -> one JSON line per algorithm
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

def best(fn, repeat=3):
    ts, out = [], None
    for _ in range(repeat):
        t = time.perf_counter(); out = fn(); ts.append(time.perf_counter() - t)
    return out, min(ts)

with threadpool_limits(limits=nt):
    def lr():
        sc = StandardScaler().fit(Xtr)
        return sc, LogisticRegression(C=1.0, max_iter=1000, solver="lbfgs").fit(sc.transform(Xtr), ytr)
    (sc, m), t = best(lr)
    print(json.dumps({"algo": "logistic", "train_s": t, "logloss": float(log_loss(yte, m.predict_proba(sc.transform(Xte))[:, 1]))}))
    km, t = best(lambda: KMeans(n_clusters=8, n_init=1, init="k-means++", max_iter=300, tol=1e-4, algorithm="lloyd",
                                random_state=0).fit(Xtr))
    print(json.dumps({"algo": "kmeans", "train_s": t, "inertia": float(km.inertia_), "iterations": int(km.n_iter_)}))
    p, t = best(lambda: PCA(n_components=5, svd_solver="full").fit(Xtr))
    print(json.dumps({"algo": "pca", "train_s": t, "explained_variance": float(p.explained_variance_.sum())}))
