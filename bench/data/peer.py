"""pandas doing the bench's work: read the CSV, profile it, run the 6-step recipe.
/usr/bin/python3 bench/data/peer.py <csv> [<workdir>]  -> one JSON line

Trainyard also persists what it computes (a Parquet file with its SHA-256, three split files);
pandas keeps its frames in memory. With a workdir, the peer also times persisting its results
(pickle, the fastest binary format this Debian pandas writes without pyarrow, then SHA-256),
reported apart (persistMs, recipePersistMs) and after peak RSS is taken, so the main figures are
pandas' in-memory times and nothing is added to them."""
import hashlib
import json
import os
import resource
import sys
import time

import numpy as np
import pandas as pd

csv = sys.argv[1]
ms = lambda t: round((time.perf_counter() - t) * 1000)

t = time.perf_counter()
df = pd.read_csv(csv)
numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
other = [c for c in df.columns if c not in numeric]
profile = {"rows": len(df), "columns": {}}
percentiles = np.linspace(0, 1, 101)
for c in df.columns:
    s = df[c]
    p = {"count": int(s.count()), "missing": int(s.isna().sum()), "distinct": int(s.nunique())}
    if c in numeric:
        v = s.dropna().to_numpy(dtype=float)
        p.update(min=float(v.min()), max=float(v.max()), mean=float(v.mean()), std=float(v.std(ddof=1)), sum=float(v.sum()))
        p["percentiles"] = np.quantile(v, percentiles).tolist()
        p["histogram"] = np.histogram(v, bins=10)[0].tolist()
    else:
        p["top"] = s.value_counts().head(10).to_dict()
    profile["columns"][c] = p
profile["corr"] = df[numeric].corr().to_numpy().tolist()
profile["target"] = df["label"].value_counts().to_dict()
ingest_profile_ms = ms(t)

t = time.perf_counter()
x = df.copy()
imputed = [f"n{i}" for i in range(10)]
x[imputed] = x[imputed].fillna(x[imputed].mean())
x = pd.get_dummies(x, columns=["c0", "c1", "c2"], dtype="int32")
scaled = [f"n{i}" for i in range(20)]
x[scaled] = (x[scaled] - x[scaled].mean()) / x[scaled].std(ddof=0)
x = x[x["n3"] > -1.5]
x["ratio"] = x["n1"] * 2 + x["n2"]
rng = np.random.default_rng(42)
u = pd.Series(rng.random(len(x)), index=x.index)
rank = u.groupby(x["label"]).rank(method="first")
size = x.groupby("label")["label"].transform("size")
frac = (rank - 0.5) / size
splits = {
    "train": x[frac < 0.7],
    "validation": x[(frac >= 0.7) & (frac < 0.85)],
    "test": x[frac >= 0.85],
}
recipe_ms = ms(t)
max_rss = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def persist(frame, path):
    frame.to_pickle(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


persist_ms = recipe_persist_ms = None
if len(sys.argv) > 2:
    work = sys.argv[2]
    t = time.perf_counter()
    persist(df, os.path.join(work, "data.pkl"))
    persist_ms = ms(t)
    t = time.perf_counter()
    for name, frame in splits.items():
        persist(frame, os.path.join(work, f"{name}.pkl"))
    recipe_persist_ms = ms(t)

print(json.dumps({
    "rows": len(df),
    "columns": len(df.columns),
    "ingestProfileMs": ingest_profile_ms,
    "recipeMs": recipe_ms,
    "splits": {k: len(v) for k, v in splits.items()},
    "outputColumns": len(x.columns),
    "persistMs": persist_ms,
    "recipePersistMs": recipe_persist_ms,
    "maxRssMiB": max_rss,
    "pandas": pd.__version__,
}))
