"""Trains the serving bench's model once: 100 trees, depth 6, 28 features (HIGGS-like shape),
binary:logistic, saved in XGBoost's JSON format as `xgboost-model` (what SageMaker's XGBoost
container loads). Usage: /usr/bin/python3 make_model.py <out-dir>"""
import os
import sys

import numpy as np
import xgboost as xgb

out = sys.argv[1]
rng = np.random.default_rng(7)
x = rng.normal(size=(20000, 28)).astype(np.float32)
logit = x[:, 0] * 1.5 - x[:, 1] + 0.5 * x[:, 2] * x[:, 3] + np.sin(x[:, 4])
y = (logit + rng.normal(scale=0.5, size=20000) > 0).astype(np.float32)
booster = xgb.train(
    {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "tree_method": "hist", "nthread": 2},
    xgb.DMatrix(x, label=y),
    num_boost_round=100,
)
os.makedirs(out, exist_ok=True)
booster.save_model(os.path.join(out, "model.json"))
os.replace(os.path.join(out, "model.json"), os.path.join(out, "xgboost-model"))
row = ",".join(f"{v:.5f}" for v in x[0])
with open(os.path.join(out, "row.csv"), "w") as f:
    f.write(row + "\n")
print(f"trained: {len(booster.get_dump())} trees, row 0 predicts {booster.predict(xgb.DMatrix(x[:1]))[0]:.6f}")
