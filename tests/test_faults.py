"""Faults never stop a run: raising evaluations, dying workers, timeouts; and the evaluation cache."""

import json

import numpy as np
import pandas as pd
import pytest

from evoplast import parallel, seeding
from evoplast.search import Search
from evoplast.storage import RunDir
from evoplast.testing import FaultyTask


def _search(config, path, **run):
    if run:
        config = config.replace(run=type(config.run)(**{**config.to_dict()["run"], **run}))
    run_dir = RunDir(path)
    run_dir.create(config.to_dict())
    return Search(config, run_dir, progress=None)


def _faulty_rows(ev, threshold, n_jobs=2):
    """Rows of the candidates that share a work item with a candidate whose c:1 > threshold."""
    items = parallel.Evaluator(n_jobs)._items(8, 4, split_trials=True)
    group = np.empty(8, int)
    for i, (ci, _) in enumerate(items):
        group[ci] = i  # trial-split items of one candidate slice fail together
    return (ev["c:1"] > threshold).groupby([ev.generation, group[ev.candidate]]).transform("any")


def _run(config, path, fault=None, **run):
    search = _search(config, path, **run)
    if fault is not None:
        search.task = FaultyTask(search.task, **fault)
    return search.run().to_json(), pd.read_csv(path / "evaluations.csv", keep_default_na=False)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    from evoplast import load_config
    from tests.conftest import TINY

    config = load_config("runs/oja.toml", TINY)
    path = tmp_path_factory.mktemp("clean") / "r"
    return config, *_run(config, path)


def test_raising_evaluation_is_retried_then_recorded_as_error(clean, tmp_path):
    config, _, clean_ev = clean
    result, ev = _run(config, tmp_path / "r", fault={"mode": "raise", "threshold": 0.5}, n_jobs=2)
    trigger = _faulty_rows(ev, 0.5)
    assert 8 <= trigger.sum() < len(ev)
    assert (ev.status[trigger] == "error").all() and (ev.status[~trigger] != "error").all()
    assert ev.message[trigger].str.contains("RuntimeError: injected fault").all()
    assert (ev.message[~trigger] == "").all()
    assert (ev.task_loss[trigger] == 10.0).all()  # the task's finite penalty
    assert result["generations"] == 6 and np.isfinite(result["loss"])


def test_fault_once_is_retried_and_changes_nothing(clean, tmp_path):
    config, clean_result, clean_ev = clean
    for mode, n_jobs in (("raise", 1), ("raise", 2), ("kill", 2)):
        marker = tmp_path / f"{mode}{n_jobs}"
        marker.mkdir()
        result, ev = _run(config, tmp_path / f"r-{mode}{n_jobs}", n_jobs=n_jobs,
                          fault={"mode": mode, "threshold": 0.5, "once_dir": str(marker)})
        assert (marker / "fault-fired").exists(), mode  # the fault did happen
        assert (ev.status != "error").all()
        assert json.dumps(result["coefficients"]) == json.dumps(clean_result["coefficients"]), mode
        assert ev.drop(columns="message").equals(clean_ev.drop(columns="message"))


def test_evaluation_over_the_time_limit_gets_status_timeout(clean, tmp_path):
    config, _, _ = clean
    result, ev = _run(config, tmp_path / "r", n_jobs=2, eval_timeout_s=8.0,
                      fault={"mode": "hang", "threshold": 0.85, "hang_s": 60.0})
    trigger = _faulty_rows(ev, 0.85)
    assert 8 <= trigger.sum() < len(ev)  # at least one generation's work hung, not all
    assert (ev.status[trigger] == "timeout").all()
    assert ev.message[trigger].str.contains("eval_timeout_s").all()
    assert ev.status[~trigger].isin(["ok", "diverged", "nan"]).all()
    assert result["generations"] == 6


def test_timeout_without_worker_processes_is_a_config_error(clean):
    from evoplast import ConfigError

    config, _, _ = clean
    with pytest.raises(ConfigError, match="eval_timeout_s"):
        type(config.run)(n_jobs=1, eval_timeout_s=5.0).validate()


def test_cache_returns_stored_evaluations_without_simulating(clean, tmp_path):
    config, _, _ = clean
    from evoplast.tasks import make_task

    task = make_task(config)
    seeds = seeding.trial_seeds(0, seeding.STREAM_HELDOUT, 0, 3)
    trials = task.make_trials(seeds)
    X = np.random.default_rng(0).normal(0, 0.3, (5, len(task.rule_template.terms)))
    cache = parallel.EvalCache(tmp_path / "cache.sqlite")
    ctx = parallel.EvalCache.context(config)
    with parallel.Evaluator(1, cache=cache) as evaluator:
        first = evaluator.evaluate(task, X, seeds=seeds, context=ctx)
        again = evaluator.evaluate(task, X[[4, 0]], seeds=seeds, context=ctx)
        other = evaluator.evaluate(task, X[:2], seeds=seeds[:2], context=ctx)
        direct = evaluator.evaluate(task, X, trials=trials)
    assert first.evaluated == 5 and again.evaluated == 0 and other.evaluated == 2
    assert np.array_equal(again.loss, first.loss[[4, 0]])
    assert np.array_equal(again.status, first.status[[4, 0]])
    assert len(cache) == 7 and np.array_equal(direct.loss, first.loss)
    cache.close()
    reopened = parallel.EvalCache(tmp_path / "cache.sqlite")
    with parallel.Evaluator(1, cache=reopened) as evaluator:
        assert evaluator.evaluate(task, X, seeds=seeds, context=ctx).evaluated == 0


def test_dask_local_cluster_gives_the_same_bytes_as_loky(clean, tmp_path):
    pytest.importorskip("dask.distributed")
    config, clean_result, clean_ev = clean  # n_jobs 1 (sequential)
    for name, run in (("loky2", {"n_jobs": 2}), ("dask2", {"n_jobs": 2, "backend": "dask"})):
        result, ev = _run(config, tmp_path / name, **run)
        assert json.dumps(result["coefficients"]) == json.dumps(clean_result["coefficients"]), name
        assert ev.equals(clean_ev), name


def test_istdp_split_by_trials_in_workers_equals_trials_made_in_the_driver():
    from evoplast import load_config, make_task

    config = load_config("runs/istdp_rate_only.toml", ["task.duration_s=2.0"])
    task = make_task(config)
    seeds = seeding.trial_seeds(3, seeding.STREAM_TRAIN, 0, 3)
    X = np.column_stack([np.linspace(-0.3, -0.1, 5), np.linspace(0.0, 3.0, 5)])
    with parallel.Evaluator(1) as one:
        ref = one.evaluate(task, X, trials=task.make_trials(seeds))
    with parallel.Evaluator(2) as two:
        split = two.evaluate(task, X, seeds=seeds)
    assert np.array_equal(ref.loss, split.loss) and np.array_equal(ref.status, split.status)
    # ordinary, mostly distinct outcomes (2-s trials quantise the rate: two candidates may tie)
    assert len(set(ref.loss[:, 0])) >= 4 and (ref.status == 0).all()


def test_cli_scheduler_with_another_backend_is_a_one_line_error(tmp_path, capsys):
    from evoplast.cli import main

    code = main(["run", "runs/oja.toml", "--out", str(tmp_path / "r"), "--backend", "loky",
                 "--scheduler", "tcp://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 2 and "run.scheduler" in err and err.count("\n") == 1


def test_dask_scheduler_address_is_used_and_gives_the_same_losses():
    distributed = pytest.importorskip("dask.distributed")
    from evoplast import load_config, make_task

    config = load_config("runs/oja.toml", ["task.n_passes=3"])
    task = make_task(config)
    seeds = seeding.trial_seeds(0, seeding.STREAM_TRAIN, 0, 3)
    X = np.random.default_rng(0).normal(0, 0.3, (9, len(task.rule_template.terms)))
    with parallel.Evaluator(1) as one:
        ref = one.evaluate(task, X, seeds=seeds)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        with parallel.Evaluator(backend="dask", scheduler=cluster.scheduler_address) as ev:
            assert ev.n_jobs == 2 and ev._cluster is None  # the existing cluster, not a new one
            got = ev.evaluate(task, X, seeds=seeds)
    assert np.array_equal(ref.loss, got.loss) and np.array_equal(ref.status, got.status)


def test_ctrl_c_inside_a_kernel_stops_the_run_and_resume_matches(clean, tmp_path):
    """numba wraps a Ctrl-C in a SystemError; it must stop the run (not be retried or scored as
    an 'error'), leave the last checkpoint, and resume must reach the uninterrupted result."""
    from evoplast import resume

    config, clean_result, clean_ev = clean
    search = _search(config, tmp_path / "r", n_jobs=1)
    search.task = FaultyTask(search.task, "interrupt", threshold=0.5, once_dir=str(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        search.run()
    assert not (tmp_path / "r" / "result.json").exists()
    assert not (tmp_path / "r" / "lock").exists()
    resumed = resume(tmp_path / "r")
    ev = pd.read_csv(tmp_path / "r" / "evaluations.csv", keep_default_na=False)
    assert (ev.status != "error").all()
    assert json.dumps(resumed["coefficients"]) == json.dumps(clean_result["coefficients"])
    pd.testing.assert_frame_equal(ev, clean_ev)


def test_a_generation_where_every_evaluation_fails_stops_the_run_with_its_message(clean, tmp_path):
    """Settings that break every simulation stop the run at the first generation with the
    evaluation's message (one line from the CLI), not after all generations on penalties."""
    from evoplast.errors import EvoplastError

    config = clean[0]
    search = _search(config, tmp_path / "r")
    search.task = FaultyTask(search.task, mode="raise")  # every chunk raises
    with pytest.raises(EvoplastError, match="every evaluation of generation 1 failed, the initial "
                                            "rule's too .error.: RuntimeError: injected fault"):
        search.run()
    assert not (tmp_path / "r" / "result.json").exists()
    assert not (tmp_path / "r" / "evaluations.csv").exists()  # nothing logged for that generation
