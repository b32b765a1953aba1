"""Damaged or mismatched run directories, by class: each command exits with status 2, prints one
line naming the problem, and changes nothing that is already written (table-driven)."""

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from evoplast import load_config, run
from evoplast.cli import main
from tests.conftest import TINY


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny Oja run and a finished tiny PCA run (another task)."""
    root = tmp_path_factory.mktemp("finished")
    run(load_config("runs/oja.toml", TINY), root / "oja")
    run(load_config("runs/pca.toml", ["task.n_trials=2", "task.n_passes=2", "task.heldout_trials=2",
                                      "cmaes.popsize=4", "cmaes.generations=2", "cmaes.restarts=0"]),
        root / "pca")
    return root


def _write(name, data):
    def damage(d: Path):
        (d / name).write_bytes(data) if isinstance(data, bytes) else (d / name).write_text(data)
    return damage


def _dir_in_place_of(name):
    def damage(d: Path):
        p = d / name
        if p.exists():
            p.unlink()
        p.mkdir()
    return damage


def _rename_header(d: Path):
    lines = (d / "history.csv").read_text().splitlines(keepends=True)
    (d / "history.csv").write_text("gen" + lines[0][len("generation"):] + "".join(lines[1:]))


def _drop_checkpoint_keep_result(d: Path):  # a finished run: resume re-finishes from the checkpoint
    pass


def _nothing(d: Path):
    pass


CASES = [
    # resume: logs that cannot be cut back to the checkpoint
    ("resume", _write("history.csv", b"\x00\xff garbage \x00\n"), [], "history.csv"),
    ("resume", _rename_header, [], "history.csv"),
    ("resume", _dir_in_place_of("evaluations.csv"), [], "evaluations.csv"),
    ("resume", _dir_in_place_of("lock"), [], "lock"),
    ("resume", _write("config.json", "{not json"), [], "config.json"),
    ("resume", _write("checkpoint.pkl", b""), [], "checkpoint"),
    # show / report: a result of the wrong shape
    ("show", _write("result.json", "[]"), [], "result.json"),
    ("show", _write("result.json", '{"task": "oja"}'), [], "result.json"),
    ("show", _write("result.json", ""), [], "result.json"),
    ("show", _write("config.json", '{"config": {"task": {"name": "nope"}}}'), [], "config.json"),
    ("report", _write("result.json", "[]"), ["--out", "{tmp}/rep"], "result.json"),
    ("report", _write("result.json", '{"task": "oja"}'), ["--out", "{tmp}/rep"], "result.json"),
    ("report", _nothing, ["--out", "{tmp}/a_file"], "exists"),
    # evaluate: the table it appends to is not evoplast's
    ("evaluate", _write("generalisation.csv", "a,b\n1,2,3,4\n"), [], "generalisation.csv"),
    ("evaluate", _dir_in_place_of("generalisation.csv"), [], "generalisation.csv"),
    ("evaluate", _nothing, ["--draw", "-2"], "--draw must be >= 0"),
    ("evaluate", _nothing, ["--trials", "0"], "--trials must be >= 1"),
    ("evaluate", _nothing, ["--set", "rule.max_power=[1, 1, 1]"], "does not fit the run's result"),
    ("evaluate", _write("result.json", "[]"), [], "result.json"),
    # landscape: the run drawn must be of this map's task and rule
    ("landscape", _nothing, ["--run", "{pca}", "--out", "{tmp}/land"], "other rule terms"),
    ("landscape", _nothing, ["--run", "{tmp}/a_file", "--out", "{tmp}/land"], "not a finished run"),
]


def _snapshot(root: Path) -> dict:
    out = {}
    for p in sorted(root.rglob("*")):
        out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


@pytest.mark.parametrize("command,damage,extra,message", CASES,
                         ids=[f"{c[0]}-{getattr(c[1], '__name__', '')}-{i}" for i, c in enumerate(CASES)])
def test_damaged_run_directory_is_one_line_and_exit_2(finished, tmp_path, capsys, command, damage, extra,
                                                      message):
    d = tmp_path / "run"
    shutil.copytree(finished / "oja", d)
    damage(d)
    (tmp_path / "a_file").write_text("a file, not a directory\n")
    extra = [e.format(tmp=tmp_path, pca=finished / "pca") for e in extra]
    argv = ([command, "runs/oja.toml", "--x", "x*y", "--y", "y**2*w", "--grid", "3", *extra]
            if command == "landscape" else [command, str(d), *extra])
    before = _snapshot(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evoplast: error:") and message in err[0], err
    assert _snapshot(tmp_path) == before  # nothing written, nothing changed


def test_an_output_path_that_cannot_be_made_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    tiny = [a for t in TINY for a in ("--set", t)]
    for argv in (["run", "runs/oja.toml", *tiny, "--out", str(blocker / "r")],
                 ["simulate", "runs/oja.toml", "--out", str(blocker / "s")]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "cannot create" in err[0] or "Not a directory" in err[0], err
    assert blocker.read_text() == "x"


def test_a_lock_of_a_reused_pid_is_stale_and_a_live_one_says_how_to_clear_it(tmp_path):
    from evoplast.errors import RunDirError
    from evoplast.storage import RunDir, _start_time

    if _start_time(os.getpid()) is None:
        pytest.skip("no /proc: start times unknown")
    d = RunDir(tmp_path / "r")
    d.create(load_config("runs/oja.toml", TINY).to_dict())
    lock = tmp_path / "r" / "lock"
    lock.write_text(f"{os.getpid()} 1")  # a live PID, but not the process that took the lock
    d.lock()  # stale: taken over
    d.unlock()
    lock.write_text(f"{os.getpid()} {_start_time(os.getpid())}")  # this very process holds it
    with pytest.raises(RunDirError, match=f"delete {lock}"):
        RunDir(tmp_path / "r").lock()
    assert json.loads((tmp_path / "r" / "config.json").read_text())["config"]["task"]["name"] == "oja"
