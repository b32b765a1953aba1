"""The PCA network's strict criterion applied to the known rule itself: how often does Rubner-Tavan
pass it against Rubner-Tavan?

    python analysis/pca_rt_vs_rt.py OUT [--jobs 1] [--csv analysis/results/NAME.csv]

OUT holds finished seed runs (``OUT/seed-<s>``, e.g. of ``analysis/pca_seeds.py``). For each run,
Rubner-Tavan (the config's known rules) is refit on that run's own validation trials exactly as
``pca_seeds.py``'s table refits it (:func:`evoplast.selection.refine_for`, no pruning); the refit
vectors are cached in ``OUT/rt_refit.json`` (minutes each at N = 100), each with the SHA-256 of its
run's ``config.json`` and the evoplast version: a cached refit of another config or version is
redone. Then for every ordered pair of runs (s, s'), on the held-out datasets of run s, the
criterion of
:func:`evoplast.analysis.verdicts.pca_vs_rubner_tavan` with Rubner-Tavan refit on s as the
reference (``reference`` = ``refit``) and, as the rule judged, Rubner-Tavan refit on s' (``other``
= s') or run s's own found rule (``other`` = ``found``); and with Rubner-Tavan at the config's
etas as the reference (``config``), the found rule and Rubner-Tavan refit on s (``refit``). One row
per pair: the datasets each reaches (every output's |cos(w_i, PC_i)| >= 0.99), the judged rule's
count where the reference reaches, ``vs_rt_ok`` (all of them) and ``count_ok`` (as many or more),
and the two speeds (each rule's largest |coefficient| times its eta). The summary line gives how
often the known rule, refit on another run's validation trials, passes the criterion (what a rule
of exactly its shape can expect), beside the found rules' counts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def refit_rt(d: Path) -> list[float]:
    """Rubner-Tavan refit on run ``d``'s validation trials (the table's refit:
    :func:`evoplast.analysis.verdicts.refit_rubner_tavan`)."""
    from evoplast import make_task
    from evoplast.analysis.report import load_run
    from evoplast.analysis.verdicts import refit_rubner_tavan

    config, _ = load_run(d)
    return [float(x) for x in refit_rubner_tavan(config, make_task(config))]


def cache_key(d: Path) -> str:
    """What a cached refit of run ``d`` must match: its config.json's SHA-256 and the evoplast version."""
    import hashlib

    from evoplast import __version__

    return f"{hashlib.sha256((d / 'config.json').read_bytes()).hexdigest()} {__version__}"


def speeds(task, vector) -> str:
    """Each rule's speed: largest |coefficient| times its eta (``ff`` and ``lat``), e.g. '0.0141/0.0209'."""
    import numpy as np

    v, rule = np.abs(np.asarray(vector, dtype=float)), task.rule_template
    return "/".join(f"{v[mask].max() * rule.eta[name]:.4g}" for name, mask in rule.groups().items())


def pair_rows(d: Path, vectors: dict[int, list[float]]) -> list[dict]:
    """Run ``d``'s rows: every refit Rubner-Tavan and the found rule against its own refit one."""
    import numpy as np

    from evoplast import make_task, seeding
    from evoplast.analysis.report import load_run
    from evoplast.analysis.verdicts import compare_reached, datasets_reached

    config, r = load_run(d)
    task = make_task(config)
    held = task.make_trials(seeding.heldout_seeds(config))
    seed = config.run.seed
    rules = {str(s): np.asarray(v) for s, v in vectors.items() if s != seed}
    rules.update(refit=np.asarray(vectors[seed]), config=task.known_rule().to_vector(),
                 found=task.rule_template.from_values(r["coefficients"]).to_vector())
    reached = {name: datasets_reached(task, v, held) for name, v in rules.items()}  # once each
    pairs = [("refit", other) for other in rules if other not in ("refit", "config")]
    pairs += [("config", "found"), ("config", "refit")]
    rows = []
    for reference, other in pairs:
        m = compare_reached(reached[other], reached[reference])
        rows.append({"seed": seed, "reference": reference, "other": other, "rt_reached": m["rt_reached"],
                     "other_reached": m["rule_reached"],
                     "other_where_rt_reached": m["rule_where_rt_reached"],
                     "vs_rt_ok": m["vs_rt_ok"], "count_ok": m["count_ok"],
                     "rt_speeds": speeds(task, rules[reference]), "other_speeds": speeds(task, rules[other])})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--csv", default=None)
    args = p.parse_args(argv)
    import pandas as pd
    from joblib import Parallel, delayed

    out = Path(args.out)
    dirs = sorted((d for d in out.glob("seed-*") if (d / "result.json").exists()),
                  key=lambda d: int(d.name.split("-")[1]))
    if len(dirs) < 2:
        raise SystemExit(f"error: {out} holds {len(dirs)} finished seed run(s); at least 2 are needed")
    cache = out / "rt_refit.json"
    cached = json.loads(cache.read_text()) if cache.exists() else {}
    todo = [d for d in dirs if cached.get(d.name, {}).get("key") != cache_key(d)]
    for i, (d, v) in enumerate(zip(todo, Parallel(n_jobs=args.jobs, return_as="generator")(
            delayed(refit_rt)(d) for d in todo))):
        cached[d.name] = {"key": cache_key(d), "vector": v}
        cache.write_text(json.dumps(cached, sort_keys=True))  # kept as it goes
        print(f"refit {i + 1}/{len(todo)}: {d.name}", file=sys.stderr, flush=True)
    vectors = {int(d.name.split("-")[1]): cached[d.name]["vector"] for d in dirs}
    rows = [row for rs in Parallel(n_jobs=args.jobs)(delayed(pair_rows)(d, vectors) for d in dirs)
            for row in rs]
    t = pd.DataFrame(rows)
    with pd.option_context("display.width", 200):
        print(t.to_string(index=False))
    by_refit = t[t["reference"] == "refit"]
    rt, found = by_refit[by_refit["other"] != "found"], by_refit[by_refit["other"] == "found"]
    per_seed = rt.groupby("seed")["vs_rt_ok"].mean()
    config = t[t["reference"] == "config"].set_index("other")

    def passed(rows) -> str:
        return f"{int(rows['vs_rt_ok'].sum())}/{len(rows)} (count {int(rows['count_ok'].sum())}/{len(rows)})"
    print(f"Rubner-Tavan refit on another run's validation trials passes the strict criterion against "
          f"Rubner-Tavan refit on the run's own in {passed(rt)} pairs (per run {per_seed.min():.0%}-"
          f"{per_seed.max():.0%}); the found rules in {passed(found)} runs. Against Rubner-Tavan at the "
          f"config's etas: the found rules {passed(config.loc[['found']])}, Rubner-Tavan refit on the "
          f"run's validation trials {passed(config.loc[['refit']])}")
    csv = Path(args.csv or f"analysis/results/{out.name}_rt_vs_rt.csv")
    t.to_csv(csv, index=False)
    print(f"wrote {csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
