"""pandas doing the bench's work: read the CSV, profile it, run the 6-step recipe.
/usr/bin/python3 bench/data/peer.py <csv>  -> one JSON line"""
import json
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

print(json.dumps({
    "rows": len(df),
    "columns": len(df.columns),
    "ingestProfileMs": ingest_profile_ms,
    "recipeMs": recipe_ms,
    "splits": {k: len(v) for k, v in splits.items()},
    "outputColumns": len(x.columns),
    "maxRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "pandas": pd.__version__,
}))
