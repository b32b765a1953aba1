"""Rule-space maps: grid evaluation, the measured valley against the analytic one, the figure."""

import json

import numpy as np
import pandas as pd
import pytest

from evoplast import load_config
from evoplast.analysis import landscape as ls
from evoplast.cli import main
from tests.conftest import TINY


def test_oja_landscape_valley_follows_the_analytic_line(tmp_path):
    config = load_config("runs/oja.toml", ["task.n_passes=20"])
    df = ls.landscape(config, "x*y", "y**2*w", (-0.5, 1.5), (-1.5, 0.5), grid=11, trials=6)
    assert len(df) == 121 and df.loss.notna().all()
    fit = ls.valley_fit(df)
    assert fit["n_points"] >= 4 and -1.25 <= fit["slope"] <= -0.8
    on = df[np.isclose(df.y, -df.x) & (df.x > 0.3)].loss.mean()
    off = df[np.isclose(df.y, -0.1) & (df.x > 0.3)].loss.mean()
    assert on < 0.1 * off  # the valley is deep


def test_cli_landscape_writes_csv_png_json_and_overlays_a_run(tmp_path, capsys):
    run_dir = tmp_path / "run"
    args = [a for t in TINY for a in ("--set", t)]
    assert main(["run", "runs/oja.toml", "--out", str(run_dir), "--quiet", *args]) == 0
    out = tmp_path / "ls"
    assert main(["landscape", "runs/oja.toml", *args, "--x", "x*y", "--y", "y**2*w", "--grid", "6",
                 "--trials", "3", "--run", str(run_dir), "--out", str(out)]) == 0
    df = pd.read_csv(out / "landscape.csv")
    assert len(df) == 36 and {"x", "y", "loss", "objective", "n_bad"} <= set(df.columns)
    summary = json.loads((out / "landscape.json").read_text())
    assert summary["analytic_slope"] == -1.0 and summary["runs"] == [str(run_dir)]
    png = (out / "landscape.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    path = ls.cma_path(run_dir, "x*y", "y**2*w")
    assert len(path) == 6 and path.x.notna().all()
    # the second time the grid comes from the cache: nothing is simulated
    from evoplast import parallel

    cache = parallel.EvalCache(out / "cache.sqlite")
    assert len(cache) == 36
    cache.close()
    capsys.readouterr()
    assert main(["landscape", "runs/oja.toml", *args, "--x", "x*y", "--y", "nope", "--out",
                 str(tmp_path / "x")]) == 2
    assert "unknown rule term 'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_istdp_landscape_zero_loss_line_matches_mean_field(tmp_path):
    config = load_config("runs/istdp_rate_only.toml")
    df = ls.landscape(config, "alpha", "beta", (-0.4, 0.1), (-0.5, 3.0), grid=15, trials=4, n_jobs=2)
    fit = ls.valley_fit(df)
    slope = ls.analytic_manifold(config, "alpha", "beta", np.array([0.0]))["slope"]
    print(f"measured slope {fit['slope']:.3f} vs analytic {slope:.3f}")
    assert abs(fit["slope"] / slope - 1) < 0.15
