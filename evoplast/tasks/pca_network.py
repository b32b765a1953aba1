r"""Task ``pca_network``: a two-layer linear network learns several principal components (experiment 2).

N inputs -> M outputs, feed-forward W (M x N) plastic under rule A, lateral L (M x M) plastic under
rule B (:mod:`evoplast.kernels.pca` has the dynamics; :mod:`evoplast.rules.pair` the rule pair).
Each trial draws a dataset as the ``oja`` task does (random rotation, spectrum with gaps among the
top M + 1 eigenvalues, log-uniform variance factor), small random initial W, initial lateral
weights L_0 (0, or Gaussian with sd ``l0_scale``: then the lateral rule must also make them decay,
which pins its weight-dependent terms, e.g. ``y*w``, that are free while L stays 0), and presents
the samples online ``n_passes`` times. Targets are the top M unit principal components u_1..u_M of the
samples seen (eigenvectors of sum_s x_s x_s^T).

Losses (``loss``), per trial:

* ``ordered`` (default; individual PCs, needs the ``hierarchical`` topology to be reachable):
  :math:`\sum_i \min_\pm \lVert w_i \mp u_i \rVert^2` with w_i the rows of W (sign-invariant, pins
  the norms);
* ``ordered_capped``: :math:`\sum_i \min(1, \min_\pm \lVert w_i \mp u_i \rVert^2)`: each output's
  term capped at its value for w_i = 0, so an output that learned the wrong direction (e.g. every
  output at PC1 under Oja's rule without lateral decorrelation: 2 per output uncapped) costs no
  more than one that learned nothing; the same optimum (W = U) and the same loss near it;
* ``subspace``: :math:`\lVert W^\top W - U^\top U \rVert_F^2` (U = rows u_1..u_M): zero exactly when
  the rows of W are an orthonormal basis of the principal subspace (any rotation inside it);

plus ``lateral_penalty * ||L_T||_F^2`` (the known solution's lateral weights decay to 0), capped at
``penalty = 10 M``; a diverged or NaN trial scores the penalty.

``task.baseline`` runs a known algorithm instead of the config's rules, for ``evoplast simulate``
and tests: ``rubner_tavan`` (Oja + anti-Hebbian on hierarchical lateral weights), ``foldiak`` (the
same rules on symmetric lateral weights), ``oja_subspace`` and ``sanger`` (non-local, no lateral
weights).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import theory
from ..errors import ConfigError, EvoplastError
from ..kernels import pca, rate
from ..rules.pair import RulePair
from .base import Task, TrialSet, num
from .datasets import DISTRIBUTIONS, ROTATIONS, make_spectrum, sample_dataset

if TYPE_CHECKING:
    from evoplast.rules.base import Rule

BASELINES = ("", "rubner_tavan", "foldiak", "oja_subspace", "sanger")
LOSSES = ("ordered", "ordered_capped", "subspace")


@dataclass(frozen=True)
class PCAConfig:
    """``[task]`` of ``pca_network``."""

    name: str = "pca_network"
    n_inputs: int = 5
    n_outputs: int = 3
    topology: str = "hierarchical"  # hierarchical | symmetric
    loss: str = "ordered"  # ordered | ordered_capped | subspace
    lateral_penalty: float = 0.0  # weight of ||L_T||_F^2 in the loss
    input_distribution: str = "gaussian"
    spectrum: str | tuple[float, ...] = "auto"
    rotation: str = "qr"  # qr | householder (as the oja task's; evoplast.tasks.datasets)
    n_trials: int = 16
    n_samples: int = 100
    n_passes: int = 100
    w0_scale: float = 0.1
    l0_scale: float = 0.0  # sd of the random initial lateral weights (0: L starts at 0)
    variance_range: tuple[float, float] = (0.5, 2.0)
    heldout_trials: int = 32
    bound: float = 1e6
    kernel: str = "compiled"  # compiled | numpy (reference)
    baseline: str = ""  # evoplast simulate only: rubner_tavan | foldiak | oja_subspace | sanger

    def validate(self) -> None:
        if self.n_inputs < 2:
            raise ConfigError(f"task.n_inputs must be >= 2, got {self.n_inputs}")
        if not 1 <= self.n_outputs < self.n_inputs:
            raise ConfigError(f"task.n_outputs must be in 1..n_inputs-1, got {self.n_outputs}")
        for key, value, allowed in (("topology", self.topology, pca.TOPOLOGIES), ("loss", self.loss, LOSSES),
                                    ("input_distribution", self.input_distribution, DISTRIBUTIONS),
                                    ("kernel", self.kernel, ("compiled", "numpy")),
                                    ("rotation", self.rotation, ROTATIONS),
                                    ("baseline", self.baseline, BASELINES)):
            if value not in allowed:
                raise ConfigError(f"task.{key} must be one of {', '.join(repr(a) for a in allowed)}, "
                                  f"got {value!r}")
        for key in ("n_trials", "n_samples", "n_passes", "heldout_trials"):
            if getattr(self, key) < 1:
                raise ConfigError(f"task.{key} must be >= 1, got {getattr(self, key)}")
        if self.lateral_penalty < 0:
            raise ConfigError("task.lateral_penalty must be >= 0")
        if self.l0_scale < 0:
            raise ConfigError("task.l0_scale must be >= 0")
        if not self.w0_scale > 0 or not self.bound > 0:
            raise ConfigError("task.w0_scale and task.bound must be > 0")
        lo, hi = self.variance_range
        if not 0 < lo <= hi:
            raise ConfigError(f"task.variance_range must be 0 < lo <= hi, got {list(self.variance_range)}")
        lam = make_spectrum(self.n_inputs, self.spectrum)
        if not np.all(lam[: self.n_outputs] > lam[1: self.n_outputs + 1]):
            raise ConfigError(f"task.spectrum needs gaps among its top {self.n_outputs + 1} eigenvalues "
                              "(else the PCs are not defined)")


@dataclass(frozen=True)
class PCATrials(TrialSet):
    """Samples X (D, S, N), initial W0 (D, M, N) and L0 (D, M, M), unit PCs U (D, M, N)."""

    X: np.ndarray
    W0: np.ndarray
    L0: np.ndarray
    U: np.ndarray


def top_components(X: np.ndarray, m: int) -> np.ndarray:
    """Rows: the top m unit eigenvectors of sum_s x_s x_s^T, largest eigenvalue first."""
    _, vecs = np.linalg.eigh(X.T @ X)
    return vecs[:, ::-1][:, :m].T


def known_pair(template: RulePair) -> RulePair:
    """Oja for A, anti-Hebbian for B, at the template's powers and learning rates."""
    from ..rules import PolynomialRule

    ff, lat = template.rules
    for rule, need in ((ff, ("x*y", "y**2*w")), (lat, ("x*y",))):
        missing = [t for t in need if t not in rule.terms]
        if missing:
            raise ConfigError(f"the rule masks exclude the known solution's term(s) {missing}")
    return RulePair(PolynomialRule.from_terms(theory.OJA, ff.max_power, ff.mask, ff.eta),
                    PolynomialRule.from_terms({"x*y": -1.0}, lat.max_power, lat.mask, lat.eta))


class PCANetworkTask(Task):
    name = "pca_network"
    Config = PCAConfig
    families = ("polynomial_pair",)
    default_family = "polynomial_pair"
    status_names = rate.STATUS_NAMES
    calibrate_scale = True  # a common factor, then each rule's own (cmaes.calibrate_scale)
    prune_terms = True  # backward elimination of terms on validation trials (cmaes.prune_tol)
    headline_metric = "min_cos"

    def __init__(self, config: Config) -> None:
        self.cfg: PCAConfig = config.task
        self.rule_template: RulePair = config.rule.rule()
        self.spectrum = make_spectrum(self.cfg.n_inputs, self.cfg.spectrum)
        self.penalty = 10.0 * self.cfg.n_outputs

    @classmethod
    def estimate_bytes(cls, config: Config, popsize: int) -> int:
        """Datasets of the largest trial set (the refit's 256 validation trials) and a
        generation's final weights (feed-forward and lateral)."""
        c = config.task
        n, m = c.n_inputs, c.n_outputs
        per_trial = (c.n_samples * n + n * n + 2 * m * n + m * m) * 8
        return max(c.n_trials, c.heldout_trials, 256) * per_trial + popsize * c.n_trials * (m * n + m * m) * 8

    @classmethod
    def estimate_steps(cls, config: Config, popsize: int) -> float:
        """Synapse-steps: candidates x trials x passes x samples x (feed-forward + lateral weights)."""
        c = config.task
        return (float(popsize) * c.n_trials * c.n_passes * c.n_samples
                * (c.n_inputs * c.n_outputs + c.n_outputs ** 2))

    @staticmethod
    def check_config(config: Config) -> None:
        """No cross-section constraints beyond the sections' own."""

    def check_search(self) -> None:
        """``task.baseline`` names a fixed algorithm for ``evoplast simulate``; a search refuses it."""
        if self.cfg.baseline:
            raise EvoplastError("task.baseline is for 'evoplast simulate' (a fixed known algorithm); "
                                "remove it to search rules")

    # -- trials -----------------------------------------------------------------------------------
    def make_trials(self, seeds: list[np.random.SeedSequence]) -> PCATrials:
        c = self.cfg
        D, M, N = len(seeds), c.n_outputs, c.n_inputs
        X = np.empty((D, c.n_samples, N))
        W0 = np.empty((D, M, N))
        U = np.empty((D, M, N))
        L0 = np.zeros((D, M, M))
        for d, seed in enumerate(seeds):
            rng = np.random.default_rng(seed)
            lo, hi = c.variance_range
            factor = np.exp(rng.uniform(np.log(lo), np.log(hi))) if hi > lo else lo
            X[d], _ = sample_dataset(c.n_samples, factor * self.spectrum, c.input_distribution, rng,
                                     c.rotation, with_pcs=False)
            U[d] = top_components(X[d], M)
            W0[d] = c.w0_scale * rng.standard_normal((M, N)) / np.sqrt(N)
            if c.l0_scale > 0:  # only the allowed entries count (the kernels mask the rest)
                L0[d] = c.l0_scale * rng.standard_normal((M, M)) * pca.lateral_mask(M, c.topology)
        return PCATrials(X, W0, L0, U)

    # -- simulation and loss ----------------------------------------------------------------------
    def _tensors(self, vectors):
        rules = [self.rule_template.from_vector(v) for v in np.atleast_2d(vectors)]
        A = np.array([r.ff.eta * r.ff.coefficient_tensor() for r in rules])
        B = np.array([r.lat.eta * r.lat.coefficient_tensor() for r in rules])
        return A, B

    def simulate(
        self, vectors: np.ndarray, trials: PCATrials, topology: str | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """W (K, D, M, N), L (K, D, M, M), status (K, D)."""
        A, B = self._tensors(vectors)
        sim = pca.simulate if self.cfg.kernel == "compiled" else pca.simulate_numpy
        return sim(A, B, trials.X, trials.W0, trials.L0, self.cfg.n_passes,
                   topology or self.cfg.topology, self.cfg.bound)

    def evaluate(self, vectors: np.ndarray, trials: PCATrials) -> tuple[np.ndarray, np.ndarray]:
        W, L, status = self.simulate(vectors, trials)
        return self._loss(W, L, status, trials), status

    def _loss(self, W, L, status, trials: PCATrials):
        with np.errstate(all="ignore"):
            if self.cfg.loss in ("ordered", "ordered_capped"):
                proj = np.abs(np.einsum("kdmn,dmn->kdm", W, trials.U))
                if self.cfg.loss == "ordered":
                    loss = (np.einsum("kdmn,kdmn->kd", W, W) + W.shape[2] - 2.0 * proj.sum(axis=2))
                else:  # per output |w_i|^2 + 1 - 2 |w_i . u_i|, capped at 1 (w_i = 0)
                    per = np.einsum("kdmn,kdmn->kdm", W, W) + 1.0 - 2.0 * proj
                    loss = np.minimum(per, 1.0).sum(axis=2)
            else:
                P = np.einsum("kdmi,kdmj->kdij", W, W)
                Q = np.einsum("dmi,dmj->dij", trials.U, trials.U)
                loss = ((P - Q[None]) ** 2).sum(axis=(2, 3))
            loss = loss + self.cfg.lateral_penalty * (L ** 2).sum(axis=(2, 3))
        ok = (status == rate.OK) & np.isfinite(loss)
        return np.where(ok, np.minimum(loss, self.penalty), self.penalty)

    @staticmethod
    def alignment(W: np.ndarray, U: np.ndarray) -> np.ndarray:
        """|cos(w_i, u_i)| per output: (..., M)."""
        with np.errstate(all="ignore"):
            return np.abs(np.sum(W * U, axis=-1)) / np.linalg.norm(W, axis=-1)

    @staticmethod
    def subspace_error(W: np.ndarray, U: np.ndarray) -> np.ndarray:
        """Largest principal angle's sine between the row spaces of W and U (0: same subspace)."""
        out = np.empty(W.shape[:-2])
        for idx in np.ndindex(out.shape):
            w = W[idx]
            if not np.all(np.isfinite(w)):
                out[idx] = 1.0
                continue
            q, _ = np.linalg.qr(w.T)
            s = np.linalg.svd(q.T @ U[idx[-1]].T, compute_uv=False)
            out[idx] = float(np.sqrt(max(0.0, 1.0 - s.min() ** 2)))
        return out

    def _metrics_from(self, W, L, status, trials) -> dict[str, Any]:
        """W (D, M, N), L (D, M, M), status (D,) of one rule."""
        ok = status == rate.OK
        cos = np.where(ok[:, None], self.alignment(W, trials.U), 0.0)
        cos = np.where(np.isfinite(cos), cos, 0.0)
        sub = np.where(ok, self.subspace_error(W, trials.U), 1.0)
        return {
            "n_trials": len(status),
            "n_ok": int(ok.sum()),
            "min_cos_per_output": cos.min(axis=0).tolist(),
            "mean_cos_per_output": cos.mean(axis=0).tolist(),
            "min_cos": float(cos.min()),
            "trials_all_cos_ge_0.99": int((cos.min(axis=1) >= 0.99).sum()),
            "max_subspace_sin": float(sub.max()),
            "mean_lateral_norm": float(np.mean(np.where(ok, np.linalg.norm(L, axis=(1, 2)), np.nan)))
            if ok.any() else None,
            "status": {name: int((status == code).sum()) for code, name in rate.STATUS_NAMES.items()},
        }

    def metrics(self, vector: np.ndarray, trials: PCATrials) -> dict[str, Any]:
        W, L, status = self.simulate(vector, trials)
        loss = self._loss(W, L, status, trials)
        return {"loss": float(loss.mean()), **self._metrics_from(W[0], L[0], status[0], trials)}

    # -- baselines and theory ---------------------------------------------------------------------
    def run_baseline(self, kind: str, trials: PCATrials) -> tuple[np.ndarray, np.ndarray]:
        """W (D, M, N), L (D, M, M), status (D,) of a known algorithm."""
        if kind in ("rubner_tavan", "foldiak"):
            rule = known_pair(self.rule_template)
            topology = "hierarchical" if kind == "rubner_tavan" else "symmetric"
            W, L, status = self.simulate(rule.to_vector(), trials, topology)
            return W[0], L[0], status[0]
        eta = self.rule_template.ff.eta
        W, status = pca.simulate_baseline(kind, trials.X, trials.W0, eta, self.cfg.n_passes, self.cfg.bound)
        return W, np.zeros(trials.L0.shape), status

    def baseline_metrics(self, kind: str, trials: PCATrials) -> dict[str, Any]:
        """The task's metrics (|cos| per output, lateral norm, ...) of a known algorithm on trials."""
        W, L, status = self.run_baseline(kind, trials)
        return self._metrics_from(W, L, status, trials)

    # -- descriptions and pictures -------------------------------------------------------------------
    def describe_head(self, result: dict) -> list[str]:
        theory = result.get("theory", {})
        if "ff" not in theory:
            return []
        ff, lat = theory["ff"], theory["lat"]
        return [f"  A vs Oja: y**2*w/x*y = {num(ff['ratio_yyw_to_xy'], '.3f')}, largest other/x*y = "
                f"{num(ff['max_other_over_xy'], '.3f')}, is_oja {ff['is_oja']}; "
                f"B: dominant term {lat['dominant_term']} "
                f"({num(lat['xy_normalized'], '+.3f')} for x*y, largest other "
                f"{num(lat.get('max_other_over_xy'), '.3f')}), anti-Hebbian {lat['is_anti_hebbian']}"]

    def heldout_extra(self, held: dict, search: bool = False) -> str:
        if search:
            return f", mean |cos(w_i, PC_i)| {[round(c, 4) for c in held['mean_cos_per_output']]}"
        return (", |cos(w_i, PC_i)| mean per output "
                + " ".join(f"{c:.4f}" for c in held["mean_cos_per_output"])
                + ", min " + " ".join(f"{c:.4f}" for c in held["min_cos_per_output"])
                + f"; lateral norm {num(held['mean_lateral_norm'], '.4g')}")

    def plot(self, plt: Any, rule: Rule, result: dict, config: Config) -> Any:
        """|cos(w_i, PC_i)| per output on the held-out datasets, beside Rubner-Tavan's."""
        from .. import seeding

        held = result["heldout"]
        held_trials = self.make_trials(seeding.heldout_seeds(config))  # those of result["heldout"]
        W, _, _ = self.run_baseline("rubner_tavan", held_trials)
        base = self.alignment(W, held_trials.U).mean(axis=0)
        m = len(held["mean_cos_per_output"])
        fig, ax = plt.subplots(figsize=(6, 4))
        xs = np.arange(m)
        ax.bar(xs - 0.2, held["mean_cos_per_output"], 0.4, label="found rules (mean)")
        ax.plot(xs - 0.2, held["min_cos_per_output"], "kv", label="found rules (min)")
        ax.bar(xs + 0.2, base, 0.4, label="Rubner-Tavan (mean)", alpha=0.7)
        ax.axhline(0.99, color="r", ls="--", lw=1, label="0.99")
        ax.set_ylim(max(0.0, min(held["min_cos_per_output"] + [0.9]) - 0.05), 1.005)
        ax.set_xticks(xs, [f"output {i + 1}" for i in xs])
        ax.set_ylabel("|cos(w_i, PC_i)| on held-out datasets")
        ax.set_title("PCA network: alignment of each output with its PC")
        ax.legend(fontsize=7)
        return fig

    def known_rule(self) -> RulePair:
        return known_pair(self.rule_template)

    def summary(self, rule: RulePair, trials: PCATrials) -> dict[str, Any]:
        """``evoplast simulate``: metrics of the config's rules, or of ``task.baseline``."""
        if self.cfg.baseline:
            W, L, status = self.run_baseline(self.cfg.baseline, trials)
            with np.errstate(all="ignore"):
                loss = self._loss(W[None], L[None], status[None], trials)
            return {"baseline": self.cfg.baseline, "loss": float(loss.mean()),
                    **self._metrics_from(W, L, status, trials)}
        return {**self.metrics(rule.to_vector(), trials), "theory": self.theory(rule)}

    def theory(self, rule: RulePair, trials: PCATrials | None = None) -> dict[str, Any]:
        return theory.pca_comparison(rule.as_dict())
