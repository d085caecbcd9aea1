#!/usr/bin/env python3
"""Peer of bench/platform's training-job row: python3-xgboost reading the same label-first CSV with
pandas and training with the same settings, the whole way to a saved model.

  /usr/bin/python3 peer.py CSV THREADS ROUNDS  -> one JSON line {"read_s", "train_s", "total_s"}
"""
import json, sys, tempfile, time, os
import pandas as pd
import xgboost as xgb

csv, nt, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0 = time.perf_counter()
frame = pd.read_csv(csv, header=None)
y, x = frame.iloc[:, 0].to_numpy(dtype="float32"), frame.iloc[:, 1:].to_numpy(dtype="float32")
t1 = time.perf_counter()
params = dict(objective="binary:logistic", tree_method="hist", max_depth=6, eta=0.1, max_bin=256, nthread=nt, verbosity=0)
booster = xgb.train(params, xgb.DMatrix(x, label=y, nthread=nt), num_boost_round=rounds)
t2 = time.perf_counter()
with tempfile.TemporaryDirectory() as d:
    booster.save_model(os.path.join(d, "xgboost-model.json"))
t3 = time.perf_counter()
print(json.dumps({"read_s": t1 - t0, "train_s": t2 - t1, "total_s": t3 - t0}))
