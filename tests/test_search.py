"""The driver: seeding, n_jobs independence, checkpoint/resume, run directory files."""

import dataclasses
import json
import pickle

import numpy as np
import pandas as pd
import pytest

from evoplast import RunDirError, resume, run
from evoplast.cli import main
from evoplast.search import Search
from evoplast.storage import RunDir


def test_run_directory_holds_the_documented_files(tiny_config, tmp_path):
    result = run(tiny_config, tmp_path / "r")
    files = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert files == ["checkpoint.pkl", "config.json", "evaluations.csv", "history.csv", "result.json"]
    meta = json.loads((tmp_path / "r" / "config.json").read_text())
    assert meta["config"]["task"]["n_inputs"] == 3 and meta["evoplast_version"]
    hist = pd.read_csv(tmp_path / "r" / "history.csv")
    assert list(hist.generation) == list(range(6))
    ev = pd.read_csv(tmp_path / "r" / "evaluations.csv")
    assert len(ev) == 6 * 8 and "c:x*y" in ev.columns and set(ev.status) <= {"ok", "diverged", "nan"}
    for key in ("coefficients", "normalized", "loss", "formula", "generations", "evaluations", "seed",
                "theory"):
        assert key in result
    assert result["generations"] == 6 and result["evaluations"] == 48
    assert max(abs(v) for v in result["normalized"].values()) == 1.0
    assert json.loads((tmp_path / "r" / "result.json").read_text()) == json.loads(json.dumps(result))


def test_same_seed_same_bytes_for_n_jobs_1_and_2(tiny_config, tmp_path):
    r1 = run(tiny_config, tmp_path / "a", n_jobs=1)
    r2 = run(tiny_config, tmp_path / "b", n_jobs=2)
    assert json.dumps(r1["coefficients"]) == json.dumps(r2["coefficients"])
    e1 = (tmp_path / "a" / "evaluations.csv").read_bytes()
    assert e1 == (tmp_path / "b" / "evaluations.csv").read_bytes()


def test_householder_datasets_same_bytes_for_n_jobs_1_and_2(tiny_config, tmp_path):
    """The blocked-reflection datasets (matrix products through BLAS, here 3 blocks at N = 150)
    are the same bytes in one process with all threads and in two single-threaded workers."""
    task = dataclasses.replace(tiny_config.task, n_inputs=150, rotation="householder")
    cfg = tiny_config.replace(task=task)
    run(cfg, tmp_path / "a", n_jobs=1)
    run(cfg, tmp_path / "b", n_jobs=2)
    e1 = (tmp_path / "a" / "evaluations.csv").read_bytes()
    assert e1 == (tmp_path / "b" / "evaluations.csv").read_bytes()


def test_other_seed_other_result(tiny_config, tmp_path):
    r1 = run(tiny_config, tmp_path / "a")
    r2 = run(tiny_config.replace(run=type(tiny_config.run)(seed=1)), tmp_path / "b")
    assert r1["coefficients"] != r2["coefficients"]


def test_global_numpy_random_is_neither_used_nor_changed(tiny_config, tmp_path):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    r1 = run(tiny_config, tmp_path / "a")
    assert np.array_equal(np.random.get_state()[1], before)
    np.random.seed(999)
    r2 = run(tiny_config, tmp_path / "b")
    assert r1["coefficients"] == r2["coefficients"]


class Stop(Exception):
    pass


def test_resume_after_interruption_reaches_the_uninterrupted_result(tiny_config, tmp_path):
    config = tiny_config.replace(cmaes=type(tiny_config.cmaes)(popsize=8, generations=4, restarts=1))
    full = run(config, tmp_path / "full")

    run_dir = RunDir(tmp_path / "cut")
    run_dir.create(config.to_dict())
    lines = []

    def progress(line):
        lines.append(line)
        if len(lines) == 5:  # stop mid-run, after a restart began
            raise Stop

    with pytest.raises(Stop):
        Search(config, run_dir, progress=progress).run()
    assert not (tmp_path / "cut" / "result.json").exists()
    assert not (tmp_path / "cut" / "lock").exists()
    # a half-logged generation (rows written, checkpoint not) is cut back on resume
    state = RunDir(tmp_path / "cut").load_checkpoint()
    with open(tmp_path / "cut" / "history.csv", "a") as fh:
        fh.write(f"{state.generation},0,8,99,0.1,0.1")  # partial row, no newline
    resumed = resume(tmp_path / "cut")
    assert json.dumps(resumed["coefficients"]) == json.dumps(full["coefficients"])
    assert resumed["generations"] == full["generations"] and resumed["restarts"] == full["restarts"]
    h_full = pd.read_csv(tmp_path / "full" / "history.csv").drop(columns="elapsed_s")
    h_cut = pd.read_csv(tmp_path / "cut" / "history.csv").drop(columns="elapsed_s")
    pd.testing.assert_frame_equal(h_full, h_cut)
    e_full = pd.read_csv(tmp_path / "full" / "evaluations.csv")
    pd.testing.assert_frame_equal(e_full, pd.read_csv(tmp_path / "cut" / "evaluations.csv"))


def test_resume_without_a_checkpoint_drops_the_logged_rows(tiny_config, tmp_path):
    """Killed after logging generation 0 but before its checkpoint (or checkpoint.pkl deleted):
    resume starts over and the CSVs hold each (generation, candidate) once, as uninterrupted."""
    config = tiny_config.replace(cmaes=type(tiny_config.cmaes)(popsize=8, generations=3))
    full = run(config, tmp_path / "full")
    cut = tmp_path / "cut"
    run(config, cut)
    (cut / "checkpoint.pkl").unlink()
    (cut / "result.json").unlink()
    resumed = resume(cut)
    assert json.dumps(resumed["coefficients"]) == json.dumps(full["coefficients"])
    for name in ("history.csv", "evaluations.csv"):
        a = pd.read_csv(tmp_path / "full" / name).drop(columns="elapsed_s", errors="ignore")
        b = pd.read_csv(cut / name).drop(columns="elapsed_s", errors="ignore")
        pd.testing.assert_frame_equal(a, b)


def test_ipop_restart_doubles_population(tiny_config, tmp_path):
    config = tiny_config.replace(cmaes=type(tiny_config.cmaes)(popsize=8, generations=3, restarts=2))
    result = run(config, tmp_path / "r")
    assert [r["popsize"] for r in result["restarts"]] == [8, 16, 32]
    assert all("validation_loss" in r for r in result["restarts"])
    assert result["evaluations"] == 3 * (8 + 16 + 32)


def test_restart_popsize_factor_one_keeps_the_population_and_the_hash_of_earlier_checkpoints(
        tiny_config, tmp_path, hash_without_key):
    """``restart_popsize_factor = 1``: every restart with the first's population (stalled restarts
    stop after stall_generations, as with IPOP), each with its own CMA-ES stream; a config written
    before the key existed hashes as this version's at the default (2), so its checkpoint resumes."""
    from evoplast.search import config_hash

    C = type(tiny_config.cmaes)
    same = run(tiny_config.replace(cmaes=C(popsize=8, generations=5, restarts=2, stall_generations=2,
                                           stall_loss=1e-12, restart_popsize_factor=1)), tmp_path / "s")
    assert [(r["popsize"], r["generations"], r["stop"]) for r in same["restarts"]] == [
        (8, 2, ["stalled"])] * 3
    assert same["evaluations"] == 2 * 3 * 8
    means = [np.asarray(r["mean"]) for r in same["restarts"]]
    assert not np.allclose(means[0], means[1]) and not np.allclose(means[1], means[2])
    triple = tiny_config.replace(cmaes=C(popsize=8, generations=2, restarts=2, restart_popsize_factor=3))
    assert [r["popsize"] for r in run(triple, tmp_path / "t")["restarts"]] == [8, 24, 72]

    ipop = tiny_config.replace(cmaes=C(popsize=8, restarts=2))
    now, factor_one = config_hash(ipop), config_hash(ipop.replace(cmaes=C(popsize=8, restarts=2,
                                                                          restart_popsize_factor=1)))
    assert hash_without_key(ipop, "cmaes", "restart_popsize_factor") == now
    assert factor_one != now


def test_stalled_restart_stops_early_and_a_good_restart_ends_the_run(tiny_config, tmp_path):
    C = type(tiny_config.cmaes)
    # stall_loss below any reachable loss: every restart stops after 2 generations, "stalled"
    stalled = run(tiny_config.replace(cmaes=C(popsize=8, generations=5, restarts=2, stall_generations=2,
                                              stall_loss=1e-12)), tmp_path / "s")
    assert [(r["popsize"], r["generations"], r["stop"]) for r in stalled["restarts"]] == [
        (8, 2, ["stalled"]), (16, 2, ["stalled"]), (32, 2, ["stalled"])]
    assert stalled["evaluations"] == 2 * (8 + 16 + 32)
    # a stall_loss above the start's loss never triggers; restart_until_loss above it skips restarts
    good = run(tiny_config.replace(cmaes=C(popsize=8, generations=3, restarts=2, stall_generations=2,
                                           stall_loss=1e12, restart_until_loss=1e12)), tmp_path / "g")
    assert [(r["popsize"], r["generations"], r["stop"]) for r in good["restarts"]] == [
        (8, 3, ["generations", "maxiter"])]
    assert good["restarts"][0]["last_best_task_loss"] < 1e12
    # below every reachable loss: all restarts run
    every = run(tiny_config.replace(cmaes=C(popsize=8, generations=3, restarts=1,
                                            restart_until_loss=1e-12)), tmp_path / "e")
    assert [r["popsize"] for r in every["restarts"]] == [8, 16]


def test_existing_run_directory_is_refused_and_kept(tiny_config, tmp_path):
    run(tiny_config, tmp_path / "r")
    before = (tmp_path / "r" / "result.json").read_bytes()
    with pytest.raises(RunDirError, match="already holds a run"):
        run(tiny_config, tmp_path / "r")
    assert (tmp_path / "r" / "result.json").read_bytes() == before


def test_live_lock_refuses_second_process(tiny_config, tmp_path):
    run_dir = RunDir(tmp_path / "r")
    run_dir.create(tiny_config.to_dict())
    run_dir.lock()
    with pytest.raises(RunDirError, match="in use"):
        Search(tiny_config, RunDir(tmp_path / "r"), progress=None).run()
    run_dir.unlock()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupt_checkpoint_is_a_clear_error(tiny_config, tmp_path, capsys, damage):
    run(tiny_config, tmp_path / "r")
    history = (tmp_path / "r" / "history.csv").read_bytes()
    ck = tmp_path / "r" / "checkpoint.pkl"
    good = ck.read_bytes()
    ck.write_bytes({"garbage": b"\x80\x05garbage", "truncated": good[: len(good) // 2], "empty": b""}[damage])
    assert main(["resume", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pkl" in err and err.count("\n") == 1
    assert (tmp_path / "r" / "history.csv").read_bytes() == history


def test_cli_run_and_show(tmp_path, capsys):
    from tests.conftest import TINY

    argv = ["run", "runs/oja.toml", "--out", str(tmp_path / "r"), "--quiet"]
    for s in TINY:
        argv += ["--set", s]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "found rule" in out and "distance to oja" in out
    assert main(["show", str(tmp_path / "r")]) == 0
    assert "normalised coefficients" in capsys.readouterr().out


def test_scale_calibration_recovers_a_learning_rate_for_a_too_slow_rule(tiny_config, tmp_path):
    from evoplast import load_config, parallel, selection
    from tests.conftest import TINY

    config = load_config("runs/oja.toml", [*TINY, "task.n_passes=40"])
    run_dir = RunDir(tmp_path / "r")
    run_dir.create(config.to_dict())
    search = Search(config, run_dir, progress=None)
    slow_oja = 0.15 * search.task.known_rule().to_vector()
    with parallel.Evaluator(1) as evaluator:
        cal = selection.refine_for(config, search.task, evaluator, slow_oja)[1]["scale_calibration"]
    assert cal["factor"] > 2.0
    assert cal["validation_loss_calibrated"] < 0.5 * cal["validation_loss_found"]
    assert cal["eta"] == pytest.approx(config.rule.eta * cal["factor"])


@pytest.mark.parametrize("calibrate,fine", [(True, False), (False, False), (True, True)])
def test_reported_rule_is_the_scale_refit_search_mean(tmp_path, calibrate, fine):
    from evoplast import load_config
    from tests.conftest import TINY

    config = load_config("runs/oja.toml", [*TINY, f"cmaes.calibrate_scale={str(calibrate).lower()}",
                                           f"cmaes.fine_scale={str(fine).lower()}"])
    run_dir = RunDir(tmp_path / "r")
    run_dir.create(config.to_dict())
    result = Search(config, run_dir, progress=None).run().to_json()
    coef, searched = result["coefficients"], result["search_coefficients"]
    assert set(coef) == set(searched)
    if calibrate:
        factor = result["scale_calibration"]["factor"] * result["scale_calibration"].get("fine_factor", 1.0)
        assert ("fine_factor" in result["scale_calibration"]) == fine
        assert result["scale_calibration"]["eta"] == pytest.approx(config.rule.eta * factor, rel=1e-12)
        assert all(coef[t] == pytest.approx(factor * searched[t], rel=1e-12, abs=0) for t in coef)
        assert set(result["heldout_search"]) == set(result["heldout"])
        if factor == 1.0:
            assert result["heldout_search"] == result["heldout"]
        # the recorded validation losses are those of the reported rule and of the search's mean,
        # re-scored independently on the run's validation trials
        from evoplast import make_task, parallel, selection

        cal = result["scale_calibration"]
        task = make_task(config)
        with parallel.Evaluator(1) as ev:
            loss = selection.validation_loss(config, task, ev)
            both = np.stack([task.rule_template.from_values(coef).to_vector(),
                             task.rule_template.from_values(searched).to_vector()])
            again = loss(both, selection.CALIBRATION_TRIALS)
        assert again[0] == pytest.approx(cal["validation_loss_calibrated"], rel=1e-12)
        assert again[1] == pytest.approx(cal["validation_loss_found"], rel=1e-12)
    else:
        assert coef == searched
        assert "scale_calibration" not in result and "heldout_search" not in result


def test_ensure_run_reuses_only_the_same_config_and_version(tmp_path):
    import evoplast
    from evoplast import ensure_run
    from tests.conftest import TINY

    out = tmp_path / "r"
    ensure_run("runs/oja.toml", TINY, out)
    first = (out / "result.json").read_bytes()
    assert ensure_run("runs/oja.toml", TINY, out) == str(out)  # reused, not rerun
    assert (out / "result.json").read_bytes() == first
    with pytest.raises(RunDirError, match="another config.*cmaes.l1"):
        ensure_run("runs/oja.toml", [*TINY, "cmaes.l1=0.02"], out)
    meta = json.loads((out / "config.json").read_text())
    # a key a later version added, absent from the run's saved config: same run at its default
    del meta["config"]["cmaes"]["tabu_radius"]  # at its default in runs/oja.toml
    (out / "config.json").write_text(json.dumps(meta))
    assert ensure_run("runs/oja.toml", TINY, out) == str(out)
    with pytest.raises(RunDirError, match="another config.*cmaes.tabu_radius"):
        ensure_run("runs/oja.toml", [*TINY, "cmaes.tabu_radius=0.5"], out)
    meta["evoplast_version"] = "0.0.1"
    (out / "config.json").write_text(json.dumps(meta))
    with pytest.raises(RunDirError, match=f"evoplast 0.0.1, this is {evoplast.__version__}"):
        ensure_run("runs/oja.toml", TINY, out)
    assert (out / "result.json").read_bytes() == first  # nothing rewritten


def test_result_json_is_standard_json_for_every_task(tmp_path):
    """A strict parser (no Infinity/NaN constants) reads result.json of each task; non-finite
    values (e.g. a max relative rate error of inf when a trial escaped) are null."""
    from evoplast import load_config
    from evoplast.storage import write_json

    def strict(path):
        def refuse(name):
            raise ValueError(f"non-standard constant {name}")
        return json.loads(path.read_text(), parse_constant=refuse)

    configs = [
        ("runs/oja.toml", ["task.n_inputs=3", "task.n_trials=2", "task.n_samples=20", "task.n_passes=2",
                           "task.heldout_trials=2", "cmaes.popsize=4", "cmaes.generations=2"]),
        ("runs/pca.toml", ["task.n_trials=2", "task.n_passes=2", "task.heldout_trials=2",
                           "cmaes.popsize=4", "cmaes.generations=2", "cmaes.restarts=0"]),
        ("runs/istdp.toml", ["task.duration_s=2.0", "task.n_trials=2", "task.heldout_trials=2",
                             "cmaes.popsize=4", "cmaes.generations=2"]),
    ]
    for i, (path, overrides) in enumerate(configs):
        run(load_config(path, overrides), tmp_path / f"r{i}")
        for name in ("result.json", "config.json"):
            assert isinstance(strict(tmp_path / f"r{i}" / name), dict)
    write_json(tmp_path / "x.json", {"a": float("inf"), "b": [float("nan"), 1.0], "c": np.float64("-inf")})
    assert strict(tmp_path / "x.json") == {"a": None, "b": [None, 1.0], "c": None}


def test_a_crafted_checkpoint_is_refused_before_it_can_run_code(tiny_config, tmp_path, capsys):
    """A pickle that would run code when loaded, put in place of checkpoint.pkl (with or without
    the magic header), is refused with one line; the code never runs."""
    import os

    from evoplast.cli import main
    from evoplast.storage import MAGIC

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    run(tiny_config, tmp_path / "r")
    (tmp_path / "r" / "result.json").unlink()
    genuine = (tmp_path / "r" / "checkpoint.pkl").read_bytes()
    evil = pickle.dumps({"generation": 1, "x": Payload()})
    forged = genuine[:len(MAGIC) + 32] + evil  # a genuine signature over another pickle
    for blob in (evil, MAGIC + b"\0" * 32 + evil, forged):
        (tmp_path / "r" / "checkpoint.pkl").write_bytes(blob)
        assert main(["resume", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "not signed with this user's key" in err[0]
        assert not marker.exists()
    (tmp_path / "r" / "checkpoint.pkl").write_bytes(genuine)  # the genuine one still resumes
    assert main(["resume", str(tmp_path / "r"), "--quiet"]) == 0
    assert (tmp_path / "r" / "result.json").exists() and not marker.exists()


def test_two_runs_into_one_directory_one_wins_cleanly(tmp_path):
    """Two `evoplast run` processes started together on one --out: exactly one runs; the other
    exits 2 with one line; config.json and result.json belong to the same run."""
    import subprocess
    import sys

    from tests.conftest import TINY

    out = tmp_path / "r"
    procs = []
    for l1 in ("0.01", "0.02"):
        args = [a for t in [*TINY, f"cmaes.l1={l1}"] for a in ("--set", t)]
        procs.append(subprocess.Popen([sys.executable, "-m", "evoplast.cli", "run", "runs/oja.toml",
                                       "--out", str(out), "--quiet", *args],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    codes = [p.wait(timeout=300) for p in procs]
    errs = [p.stderr.read() for p in procs]
    assert sorted(codes) == [0, 2], (codes, errs)
    loser = errs[codes.index(2)].strip().splitlines()
    assert len(loser) == 1 and loser[0].startswith("evoplast: error:")
    winner_l1 = ("0.01", "0.02")[codes.index(0)]
    config = json.loads((out / "config.json").read_text())["config"]
    assert str(config["cmaes"]["l1"]) == winner_l1
    assert (out / "result.json").exists()


def test_concurrent_evaluates_keep_every_row(tiny_config, tmp_path):
    import subprocess
    import sys

    run(tiny_config, tmp_path / "r")
    procs = [subprocess.Popen([sys.executable, "-m", "evoplast.cli", "evaluate", str(tmp_path / "r"),
                               "--trials", "2", "--draw", str(i)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for i in range(4)]
    assert [p.wait(timeout=300) for p in procs] == [0] * 4
    table = pd.read_csv(tmp_path / "r" / "generalisation.csv", keep_default_na=False)
    assert sorted(table["draw"]) == [0, 1, 2, 3]


def test_resume_refuses_a_hand_edited_config(tiny_config, tmp_path, capsys):
    from evoplast.cli import main

    run(tiny_config, tmp_path / "r")
    (tmp_path / "r" / "result.json").unlink()
    meta = json.loads((tmp_path / "r" / "config.json").read_text())
    meta["config"]["cmaes"]["l1"] = 0.5
    (tmp_path / "r" / "config.json").write_text(json.dumps(meta))
    assert main(["resume", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no longer matches the config the checkpoint was made with" in err[0]
    assert not (tmp_path / "r" / "result.json").exists()
    meta["config"]["cmaes"]["l1"] = tiny_config.cmaes.l1  # restored: resumes
    (tmp_path / "r" / "config.json").write_text(json.dumps(meta))
    assert main(["resume", str(tmp_path / "r"), "--quiet", "--n-jobs", "2"]) == 0


def _cut_run(config, path):
    """A run stopped after its third progress line (mid-search), as a Ctrl-C would leave it."""
    run_dir = RunDir(path)
    run_dir.create(config.to_dict())
    lines = []

    def progress(line):
        lines.append(line)
        if len(lines) == 3:
            raise Stop

    with pytest.raises(Stop):
        Search(config, run_dir, progress=progress).run()
    return run_dir


def test_a_format_1_checkpoint_resumes_and_an_unknown_format_is_refused(tiny_config, tmp_path, capsys):
    """Checkpoint format 2 holds a SearchState; a format-1 checkpoint (the same fields in a dict,
    evoplast 0.2) still resumes to the uninterrupted result; any other format is one clear line."""
    import dataclasses

    from evoplast.search import SearchState

    config = tiny_config.replace(cmaes=type(tiny_config.cmaes)(popsize=8, generations=4, restarts=1))
    full = run(config, tmp_path / "full")
    run_dir = _cut_run(config, tmp_path / "cut")
    state = run_dir.load_checkpoint()
    assert isinstance(state, SearchState) and state.format == 2 and 0 < state.generation
    old = {**dataclasses.asdict(state), "es": state.es, "format": 1}  # what evoplast 0.2 pickled
    run_dir.save_checkpoint(old)
    resumed = resume(tmp_path / "cut")
    assert json.dumps(resumed["coefficients"]) == json.dumps(full["coefficients"])
    assert resumed["generations"] == full["generations"]

    run_dir = _cut_run(config, tmp_path / "cut3")
    run_dir.save_checkpoint({**old, "format": 3})
    assert main(["resume", str(tmp_path / "cut3")]) == 2
    err = capsys.readouterr().err
    assert "unsupported checkpoint format 3" in err and len(err.strip().splitlines()) == 1


def test_the_library_prints_nothing_by_itself(tiny_config, tmp_path, capsys):
    """Progress goes to the callback only: a search, its result and a resume write nothing to
    stdout/stderr unless a callback is given; with one, every line reaches it."""
    run(tiny_config, tmp_path / "a")
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    lines = []
    run(tiny_config, tmp_path / "b", progress=lines.append)
    assert capsys.readouterr().out == "" and any(line.startswith("gen ") for line in lines)


def test_a_converged_restart_stops_by_itself_and_resumes_exactly(tiny_config, tmp_path):
    """cmaes.converge_every: the mean's validation objective, recorded every 5 generations, has not
    improved by 1% over the last 30: the restart stops ("converged") long before its 400
    generations; the same for n_jobs 1 and 2, and a run cut mid-way resumes to the same result."""
    c = dataclasses.replace(tiny_config.cmaes, popsize=8, generations=400, converge_every=5,
                            converge_window=30, converge_rtol=0.01, converge_trials=4)
    config = tiny_config.replace(cmaes=c)
    full = run(config, tmp_path / "full")
    stops = full["restarts"][0]["stop"]
    assert "converged" in stops and full["generations"] < 400
    two = run(config, tmp_path / "two", n_jobs=2)
    assert json.dumps(two["coefficients"]) == json.dumps(full["coefficients"])
    _cut_run(config, tmp_path / "cut")
    resumed = resume(tmp_path / "cut")
    assert json.dumps(resumed["coefficients"]) == json.dumps(full["coefficients"])
    assert resumed["generations"] == full["generations"]
    off = run(tiny_config.replace(cmaes=dataclasses.replace(c, converge_every=0, generations=60)),
              tmp_path / "off")
    assert "converged" not in off["restarts"][0]["stop"]


class _StopAfter(Exception):
    pass


def test_pretrain_stage_starts_the_search_from_its_chosen_mean_and_resumes_without_rerunning(
        tiny_config, tmp_path, hash_without_key, capsys):
    """``cmaes.pretrain``: a first search on the overridden config (here fewer inputs, its own
    sigma0 and generations) runs in RUN_DIR/pretrain with the run's seed; every restart of the
    main search starts at its chosen mean; result.json records its costs and the total. Killed in
    the main stage, the run resumes to the same bytes without pretraining again."""
    from evoplast.config import load_config
    from evoplast.search import config_hash

    sets = ["task.n_inputs=3", "task.n_trials=4", "task.n_samples=30", "task.n_passes=3",
            "task.heldout_trials=4", "cmaes.popsize=8", "cmaes.generations=4", "cmaes.restarts=1",
            "cmaes.sigma0=0.1", 'cmaes.pretrain=["task.n_inputs=2", "cmaes.generations=3", '
            '"cmaes.restarts=0", "cmaes.sigma0=0.5"]']
    config = load_config("runs/oja.toml", sets)
    full = run(config, tmp_path / "full")
    pre = json.loads((tmp_path / "full" / "pretrain" / "result.json").read_text())
    pre_config = json.loads((tmp_path / "full" / "pretrain" / "config.json").read_text())["config"]
    assert pre_config["task"]["n_inputs"] == 2 and pre_config["cmaes"]["pretrain"] == []
    assert pre["generations"] == 3 and pre["seed"] == config.run.seed
    assert full["start"] == pre["search_coefficients"]  # the chosen (only) restart's mean
    assert full["start"] != load_config("runs/oja.toml", sets[:-1]).rule.rule().as_dict()
    assert full["pretrain"]["generations"] == 3 and full["pretrain"]["evaluations"] == 24
    assert full["total_s"] == pytest.approx(full["elapsed_s"] + full["finish_s"] + pre["elapsed_s"]
                                            + pre["finish_s"], abs=0.01)
    assert full["generations"] == 8 and len(full["restarts"]) == 2
    capsys.readouterr()
    assert main(["show", str(tmp_path / "full")]) == 0
    assert "from the mean of a pretraining stage" in capsys.readouterr().out

    run_dir = RunDir(tmp_path / "cut")
    run_dir.create(config.to_dict())
    lines = []

    def progress(line):
        lines.append(line)
        if sum(not x.startswith("pretrain") for x in lines) == 3:  # mid main stage
            raise _StopAfter

    with pytest.raises(_StopAfter):
        Search(config, run_dir, progress=progress).run()
    assert (tmp_path / "cut" / "pretrain" / "result.json").exists()
    mtime = (tmp_path / "cut" / "pretrain" / "result.json").stat().st_mtime_ns
    resumed = resume(tmp_path / "cut")
    assert (tmp_path / "cut" / "pretrain" / "result.json").stat().st_mtime_ns == mtime
    assert json.dumps(resumed["coefficients"]) == json.dumps(full["coefficients"])
    assert (tmp_path / "cut" / "evaluations.csv").read_bytes() == \
        (tmp_path / "full" / "evaluations.csv").read_bytes()
    assert hash_without_key(tiny_config, "cmaes", "pretrain") == config_hash(tiny_config)


@pytest.mark.parametrize("override, message", [
    ("run.seed=3", "must be a list of"),
    ("rule.max_power=[1, 1, 1]", "change the rule's terms"),
    ("task.n_inputs=-2", "cmaes.pretrain: task.n_inputs"),
])
def test_pretrain_overrides_that_cannot_make_a_first_stage_are_refused(override, message):
    from evoplast import ConfigError
    from evoplast.config import load_config

    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_config("runs/oja.toml", [f'cmaes.pretrain=["{override}"]'])


def test_pretrain_prune_holds_the_small_terms_at_zero(tmp_path):
    """``cmaes.pretrain_prune``: coefficients of the pretrained mean below that fraction of its
    largest |coefficient| are set to 0 and not searched (every candidate has them at 0); the others
    start as pretrained and are searched."""
    from evoplast.config import load_config

    sets = ["task.n_inputs=3", "task.n_trials=4", "task.n_samples=30", "task.n_passes=3",
            "task.heldout_trials=4", "cmaes.popsize=8", "cmaes.generations=2", "cmaes.prune_tol=0",
            'cmaes.pretrain=["cmaes.generations=3"]']
    config = load_config("runs/oja.toml", [*sets, "cmaes.pretrain_prune=0.3"])
    out = run(config, tmp_path / "r")
    pre = json.loads((tmp_path / "r" / "pretrain" / "result.json").read_text())["search_coefficients"]
    big = max(abs(v) for v in pre.values())
    assert 0 < sum(abs(v) < 0.3 * big for v in pre.values()) < len(pre)
    assert out["start"] == {k: (0.0 if abs(v) < 0.3 * big else v) for k, v in pre.items()}
    ev = pd.read_csv(tmp_path / "r" / "evaluations.csv")
    small = [k for k, v in pre.items() if abs(v) < 0.3 * big]
    assert (ev[[f"c:{k}" for k in small]] == 0).all().all()
    assert (ev[[f"c:{k}" for k in pre if k not in small]] != 0).all().all()
    assert all(out["search_coefficients"][k] == 0 for k in small)


def test_bounds_keep_every_candidate_and_the_mean_in_the_box_and_resume_exactly(
        tiny_config, tmp_path, hash_without_key, capsys):
    """``cmaes.bounds``: every logged candidate and the reported search mean lie in the box (the
    bound is active: the unbounded run's candidates leave it); killed mid-run, the resumed run
    gives the same bytes; the hash of a config without the key is unchanged."""
    from evoplast.config import load_config
    from evoplast.search import config_hash
    from tests.conftest import TINY

    sets = [*TINY, "cmaes.sigma0=0.5", "cmaes.prune_tol=0"]
    run(load_config("runs/oja.toml", sets), tmp_path / "free")
    ev_free = pd.read_csv(tmp_path / "free" / "evaluations.csv")
    box = {"x*y": (-0.1, 0.2), "y**2*w": (-0.15, 0.05)}
    assert any(((ev_free[f"c:{t}"] < lo) | (ev_free[f"c:{t}"] > hi)).any() for t, (lo, hi) in box.items())
    bounded = load_config("runs/oja.toml", [*sets, 'cmaes.bounds = {"x*y" = [-0.1, 0.2], '
                                                   '"y**2*w" = [-0.15, 0.05]}'])
    full = run(bounded, tmp_path / "full")
    ev = pd.read_csv(tmp_path / "full" / "evaluations.csv")
    for t, (lo, hi) in box.items():
        assert ev[f"c:{t}"].between(lo, hi).all(), t
        assert lo <= full["search_coefficients"][t] <= hi
    others = [c for c in ev.columns if c.startswith("c:") and c[2:] not in box]
    assert (ev[others].abs() > 0.2).any().any()  # the other terms are not bounded
    capsys.readouterr()
    assert main(["show", str(tmp_path / "full")]) == 0
    shown = capsys.readouterr().out
    assert "searched inside cmaes.bounds: x*y in [-0.1, 0.2], y**2*w in [-0.15, 0.05]" in shown
    mean = full["search_coefficients"]
    at_edge = [t for t, (lo, hi) in box.items() if min(mean[t] - lo, hi - mean[t]) <= 1e-3 * (hi - lo)]
    assert ("at the edge in " + ", ".join(at_edge)) in shown if at_edge else "at the edge" not in shown

    _cut_run(bounded, tmp_path / "cut")
    resume(tmp_path / "cut")
    assert (tmp_path / "cut" / "evaluations.csv").read_bytes() == \
        (tmp_path / "full" / "evaluations.csv").read_bytes()
    assert hash_without_key(tiny_config, "cmaes", "bounds") == config_hash(tiny_config)


@pytest.mark.parametrize("value, message", [
    ('{"x*q" = [0, 1]}', "cmaes.bounds.x\\*q is not a searched term"),
    ('{"x*y" = [1, 0]}', "low < high"),
    ('{"x*y" = [0]}', "low < high"),
    ('{"x*y" = [0, inf]}', "low < high"),
])
def test_bad_bounds_are_refused(value, message):
    from evoplast import ConfigError
    from evoplast.config import load_config

    with pytest.raises(ConfigError, match=message):
        load_config("runs/oja.toml", [f"cmaes.bounds = {value}"])


def test_a_start_outside_the_bounds_is_refused(tmp_path):
    from evoplast import ConfigError
    from evoplast.config import load_config
    from tests.conftest import TINY

    config = load_config("runs/oja.toml", [*TINY, 'cmaes.bounds = {"x*y" = [0.5, 1]}'])
    with pytest.raises(ConfigError, match="outside cmaes.bounds.x\\*y"):  # the zero start
        run(config, tmp_path / "r")
