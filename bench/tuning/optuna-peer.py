#!/usr/bin/python3
"""Optuna's TPE as a peer of bench/tuning/run.mjs: one JSON command per line on stdin, one JSON answer
per line on stdout. The objective is evaluated by run.mjs (the same evaluations as Trainyard's side);
this process only proposes (ask) and learns (tell), and reports the seconds it spent doing so."""
import json
import sys
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
study = None
space = []
tuner_s = 0.0


def suggest(trial):
    out = {}
    for d in space:
        if d["kind"] == "Categorical":
            out[d["name"]] = trial.suggest_categorical(d["name"], d["values"])
        elif d["kind"] == "Integer":
            out[d["name"]] = trial.suggest_int(d["name"], d["min"], d["max"], log=d["scaling"] == "Logarithmic")
        else:
            out[d["name"]] = trial.suggest_float(d["name"], d["min"], d["max"], log=d["scaling"] == "Logarithmic")
    return out


for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "start":
        space = cmd["space"]
        study = optuna.create_study(
            direction="maximize" if cmd["direction"] == "Maximize" else "minimize",
            sampler=optuna.samplers.TPESampler(seed=cmd["seed"]),
        )
        tuner_s = 0.0
        print(json.dumps({"version": optuna.__version__}), flush=True)
    elif cmd["op"] == "ask":
        t = time.perf_counter()
        trials = [study.ask() for _ in range(cmd["n"])]
        params = [{"number": tr.number, "values": {k: str(v) for k, v in suggest(tr).items()}} for tr in trials]
        tuner_s += time.perf_counter() - t
        print(json.dumps({"trials": params}), flush=True)
    elif cmd["op"] == "tell":
        t = time.perf_counter()
        for number, value in cmd["results"]:
            study.tell(number, value)
        tuner_s += time.perf_counter() - t
        print(json.dumps({"tuner_s": tuner_s}), flush=True)
