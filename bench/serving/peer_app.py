"""SageMaker's XGBoost container stack in miniature: gunicorn + Flask + xgboost, serving
`xgboost-model` on /ping and /invocations (text/csv). Run by run.mjs with gunicorn."""
import io
import os

import numpy as np
import xgboost as xgb
from flask import Flask, Response, request

booster = xgb.Booster()
booster.load_model(os.path.join(os.environ["SM_MODEL_DIR"], "xgboost-model"))
booster.set_param({"nthread": 1})
app = Flask(__name__)


@app.route("/ping")
def ping():
    return Response("ok\n", mimetype="text/plain")


@app.route("/invocations", methods=["POST"])
def invocations():
    rows = np.loadtxt(io.StringIO(request.get_data(as_text=True)), delimiter=",", ndmin=2, dtype=np.float32)
    scores = booster.predict(xgb.DMatrix(rows))
    return Response("".join(f"{s}\n" for s in scores), mimetype="text/csv")
