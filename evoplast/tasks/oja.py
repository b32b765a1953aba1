r"""Task ``oja``: one linear rate neuron learns the first principal component (experiment 1).

Neuron ``y = w . x`` (N inputs, no bias). Each trial d draws a dataset (random rotation, fixed
spectrum, :mod:`evoplast.tasks.datasets`), ``n_samples`` samples and small random initial weights
``w0 = w0_scale * g / sqrt(N)``, g ~ N(0, I). The neuron sees the samples online, ``n_passes``
times, applying the candidate polynomial rule after each sample.

Each dataset's spectrum is multiplied by a factor drawn log-uniformly from ``variance_range``
(default [0.5, 2]). Oja's rule normalises ``||w||`` to 1 whatever the input variance; rules that
trade ``y**2*w`` against a weight decay ``w`` only do so for one variance, so without this
variation (``variance_range = [1, 1]``) such rules are indistinguishable from Oja's.

The target ``u_1`` is the first principal component of the samples the neuron saw (top unit
eigenvector of ``sum_s x_s x_s^T``; inputs have zero mean by construction): Oja's rule converges
to that one, and with 100 samples it differs noticeably from the population PC1 when
``lambda_2 / lambda_1`` is close to 1. A dataset needs a clear eigen-gap for PC1 to be learnable in
the trial's time: 100 heavy-tailed (Laplace) samples of the N = 5 paper spectrum (population ratio
0.7) reach a sample ratio above 0.9 in a few % of draws, where Oja's rule itself ends at
1 - |cos| of 0.1-0.5. Such samples are redrawn (``max_gap_ratio``, default 0.85; 1 keeps all) for
the search's own datasets (training and validation) only: held-out datasets (the seed stream
``STREAM_HELDOUT`` of :mod:`evoplast.parallel`) are never filtered, so the held-out score includes
the hard draws. A found rule's held-out alignment is judged against Oja's own rule (same eta) on
the same datasets (:meth:`OjaTask.theory`).

Loss (sign-invariant, pins the norm as well as the direction):

.. math::  l_d = \min_\pm \lVert w_T \mp u_1 \rVert^2 = \lVert w_T \rVert^2 + 1 - 2 |w_T \cdot u_1|

capped at :data:`PENALTY`. A trial whose weights or output leave ``[-bound, bound]`` (status
``diverged``) or become NaN (status ``nan``) scores :data:`PENALTY` = 10; a rule that leaves w
near 0 scores about 1, so divergence ranks worst and CMA-ES never sees NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import theory
from ..errors import ConfigError
from ..kernels import rate
from ..rules import OJA_TERMS, PolynomialRule
from .base import Task, TrialSet
from .datasets import DISTRIBUTIONS, ROTATIONS, effective_dimension, make_spectrum, sample_dataset

if TYPE_CHECKING:
    from evoplast.rules.base import Rule

PENALTY = 10.0


@dataclass(frozen=True)
class OjaConfig:
    """``[task]`` of ``oja``."""

    name: str = "oja"
    n_inputs: int = 5
    input_distribution: str = "gaussian"  # gaussian | laplace | uniform (same covariance)
    spectrum: str | tuple[float, ...] = "auto"  # auto | paper | geometric | tail | N eigenvalues
    rotation: str = "qr"  # qr | householder: how the random PC frame is drawn (same distribution;
    # householder is O(S N^2); analysis/dataset_speed.py: 3.8x faster at N = 1000, slower at 100)
    tail_level: float = 0.01  # spectrum "tail": lambda_k = tail_level (k - 1)^-tail_power, k >= 2
    tail_power: float = 0.0
    n_trials: int = 16  # trials (datasets) per candidate per generation, shared by all candidates
    n_samples: int = 100  # samples per dataset
    n_passes: int = 40  # passes over the samples
    w0_scale: float = 0.1  # norm of the random initial weights
    variance_range: tuple[float, float] = (0.5, 2.0)  # per-dataset factor on the spectrum (log-uniform)
    heldout_trials: int = 32  # datasets for the final held-out score
    max_gap_ratio: float = 0.85  # a dataset whose sample lambda_2 / lambda_1 exceeds this is redrawn
    bound: float = 1e6  # |y| or |w| beyond this: status 'diverged'
    kernel: str = "compiled"  # compiled | numpy (reference)
    prune_terms: bool = False  # true: after the search, terms whose joint removal keeps the validation
    # loss within cmaes.prune_tol are dropped (evoplast.selection.prune_terms; large N, where
    # x_j^2, w_j^2 ~ 1/N make terms that barely move w, and that the L1 penalty prunes only slowly)

    def make_spectrum(self) -> np.ndarray:
        return make_spectrum(self.n_inputs, self.spectrum, self.tail_level, self.tail_power)

    def validate(self) -> None:
        if self.n_inputs < 2:
            raise ConfigError(f"task.n_inputs must be >= 2, got {self.n_inputs}")
        if self.input_distribution not in DISTRIBUTIONS:
            raise ConfigError(f"task.input_distribution must be one of {', '.join(DISTRIBUTIONS)}, "
                              f"got {self.input_distribution!r}")
        for key in ("n_trials", "n_samples", "n_passes", "heldout_trials"):
            if getattr(self, key) < 1:
                raise ConfigError(f"task.{key} must be >= 1, got {getattr(self, key)}")
        lo, hi = self.variance_range
        if not 0 < lo <= hi:
            raise ConfigError(f"task.variance_range must be [low, high] with 0 < low <= high, "
                              f"got {list(self.variance_range)}")
        if not 0 < self.max_gap_ratio <= 1:
            raise ConfigError(f"task.max_gap_ratio must be in (0, 1] (1: keep every dataset), "
                              f"got {self.max_gap_ratio}")
        if not self.w0_scale >= 0:
            raise ConfigError(f"task.w0_scale must be >= 0, got {self.w0_scale}")
        if not self.bound > 0:
            raise ConfigError(f"task.bound must be > 0, got {self.bound}")
        if not isinstance(self.prune_terms, bool):
            raise ConfigError(f"task.prune_terms must be true or false, got {self.prune_terms!r}")
        if self.kernel not in ("compiled", "numpy"):
            raise ConfigError(f"task.kernel must be 'compiled' or 'numpy', got {self.kernel!r}")
        if self.rotation not in ROTATIONS:
            raise ConfigError(f"task.rotation must be one of {', '.join(ROTATIONS)}, got {self.rotation!r}")
        defaults = (OjaConfig.tail_level, OjaConfig.tail_power)
        if self.spectrum != "tail" and (self.tail_level, self.tail_power) != defaults:
            raise ConfigError("task.tail_level and task.tail_power apply to spectrum = \"tail\" only")
        lam = self.make_spectrum()
        if lam[1] / lam[0] >= self.max_gap_ratio:
            raise ConfigError(f"the spectrum's lambda_2/lambda_1 = {lam[1] / lam[0]:.3g} is not below "
                              f"task.max_gap_ratio = {self.max_gap_ratio}: most datasets would be "
                              f"redrawn; raise max_gap_ratio (e.g. 0.95) or widen the gap")


@dataclass(frozen=True)
class OjaTrials(TrialSet):
    """Samples X (D, S, N), initial weights W0 (D, N), unit PC1 U1 (D, N)."""

    X: np.ndarray
    W0: np.ndarray
    U1: np.ndarray


MAX_DRAWS = 100


class OjaTask(Task):
    """Experiment 1. See the module docstring for the equations."""

    name = "oja"
    Config = OjaConfig
    families = ("polynomial",)
    default_family = "polynomial"
    penalty = PENALTY
    status_names = rate.STATUS_NAMES
    calibrate_scale = True  # only eta * theta matters for a polynomial rate rule
    headline_metric = "mean_one_minus_cos"

    def __init__(self, config: Config) -> None:
        self.cfg: OjaConfig = config.task
        self.rule_template: PolynomialRule = config.rule.rule()
        self.spectrum = self.cfg.make_spectrum()
        self.prune_terms = self.cfg.prune_terms  # the Task contract's switch, per config here

    @classmethod
    def estimate_bytes(cls, config: Config, popsize: int) -> int:
        """Datasets (samples, the N x N rotation that draws them) of the largest trial set (the
        256 validation trials of the refit), and the final weights of a generation."""
        c = config.task
        per_trial = (c.n_samples * c.n_inputs + c.n_inputs**2 + 3 * c.n_inputs) * 8
        return max(c.n_trials, c.heldout_trials, 256) * per_trial + popsize * c.n_trials * c.n_inputs * 8

    @classmethod
    def estimate_steps(cls, config: Config, popsize: int) -> float:
        """Synapse-steps: candidates x trials x passes x samples x inputs."""
        c = config.task
        return float(popsize) * c.n_trials * c.n_passes * c.n_samples * c.n_inputs

    @staticmethod
    def check_config(config: Config) -> None:
        """Cross-section checks (none beyond the sections' own for this task)."""

    # -- trials -----------------------------------------------------------------------------------
    def make_trials(self, seeds: list[np.random.SeedSequence]) -> OjaTrials:
        c = self.cfg
        X = np.empty((len(seeds), c.n_samples, c.n_inputs))
        W0 = np.empty((len(seeds), c.n_inputs))
        U1 = np.empty((len(seeds), c.n_inputs))
        for d, seed in enumerate(seeds):
            rng = np.random.default_rng(seed)
            lo, hi = c.variance_range
            factor = np.exp(rng.uniform(np.log(lo), np.log(hi))) if hi > lo else lo
            heldout = _is_heldout(seed)
            for _ in range(MAX_DRAWS):  # redraw samples whose top two eigenvalues nearly coincide
                X[d], _ = sample_dataset(c.n_samples, factor * self.spectrum, c.input_distribution, rng,
                                         c.rotation, with_pcs=False)
                vals, u1 = _top_two(X[d])
                if heldout or vals[1] <= c.max_gap_ratio * vals[0]:
                    break
            else:
                raise ConfigError(f"no dataset with sample lambda_2/lambda_1 <= task.max_gap_ratio = "
                                  f"{c.max_gap_ratio} in {MAX_DRAWS} draws: widen the spectrum's gap, "
                                  f"add samples or raise max_gap_ratio")
            U1[d] = u1
            W0[d] = c.w0_scale * rng.standard_normal(c.n_inputs) / np.sqrt(c.n_inputs)
        return OjaTrials(X, W0, U1)

    # -- simulation and loss ----------------------------------------------------------------------
    def simulate(self, vectors: np.ndarray, trials: OjaTrials) -> tuple[np.ndarray, np.ndarray]:
        """Final weights (K, D, N) and status (K, D) for K coefficient vectors."""
        A = self.rule_template.eta * self.rule_template.coefficient_tensor(np.atleast_2d(vectors))
        sim = rate.simulate if self.cfg.kernel == "compiled" else rate.simulate_numpy
        return sim(A, trials.X, trials.W0, self.cfg.n_passes, self.cfg.bound)

    def evaluate(self, vectors: np.ndarray, trials: OjaTrials) -> tuple[np.ndarray, np.ndarray]:
        """Per-trial losses (K, D) and status codes (K, D); never NaN."""
        W, status = self.simulate(vectors, trials)
        return self._loss(W, status, trials), status

    @staticmethod
    def _loss(W: np.ndarray, status: np.ndarray, trials: OjaTrials) -> np.ndarray:
        with np.errstate(all="ignore"):
            proj = np.abs(np.einsum("kdn,dn->kd", W, trials.U1))
            loss = np.einsum("kdn,kdn->kd", W, W) + 1.0 - 2.0 * proj
        return np.where((status == rate.OK) & np.isfinite(loss), np.minimum(loss, PENALTY), PENALTY)

    def metrics(self, vector: np.ndarray, trials: OjaTrials) -> dict[str, Any]:
        """Held-out score of one rule: alignment with PC1, weight norm, loss, status counts."""
        W, status = self.simulate(vector, trials)
        loss = self._loss(W, status, trials)
        W, status, ok = W[0], status[0], status[0] == rate.OK
        with np.errstate(all="ignore"):
            norm = np.linalg.norm(W, axis=1)
            cos = np.abs(np.sum(W * trials.U1, axis=1)) / norm
        one_minus_cos = np.where(ok & np.isfinite(cos), 1.0 - cos, 1.0)
        return {
            "n_trials": len(status),
            "n_ok": int(ok.sum()),
            "loss": float(loss.mean()),
            "mean_one_minus_cos": float(one_minus_cos.mean()),
            "max_one_minus_cos": float(one_minus_cos.max()),
            "mean_norm": float(np.mean(np.where(ok, norm, np.nan))) if ok.any() else None,
        }

    # -- theory ------------------------------------------------------------------------------------
    def known_rule(self) -> PolynomialRule:
        t = self.rule_template
        missing = [k for k in OJA_TERMS if k not in t.terms]
        if missing:
            raise ConfigError(f"the rule mask excludes Oja's term(s) {missing}")
        return PolynomialRule.from_terms(OJA_TERMS, t.max_power, t.mask, t.eta)

    def summary(self, rule: PolynomialRule, trials: OjaTrials) -> dict[str, Any]:
        """``evoplast simulate`` output: the held-out metrics of the config's rule."""
        return {**self.metrics(rule.to_vector(), trials), "theory": self.theory(rule)}

    # -- descriptions and pictures -------------------------------------------------------------------
    def heldout_extra(self, held: dict, search: bool = False) -> str:
        return f", mean 1-|cos(w, PC1)| = {held['mean_one_minus_cos']:.2e}"

    def describe_heldout_theory(self, theory: dict) -> list[str]:
        if "heldout_oja_mean_one_minus_cos" not in theory:
            return []
        return [f"  Oja's rule (same eta) on the same held-out datasets: mean 1-|cos(w, PC1)| = "
                f"{theory['heldout_oja_mean_one_minus_cos']:.2e}; within 1.5x of it (or < 0.01): "
                f"{theory['heldout_vs_oja']}; rediscovered: {theory['rediscovered']}"]

    def analytic_manifold(self, x: str, y: str, xs: np.ndarray) -> dict | None:
        """Oja's valley c[y**2*w] = -c[x*y] (the same with the axes swapped; x*y > 0 is stable)."""
        if {x, y} != {"x*y", "y**2*w"}:
            return None
        return {"label": "Oja valley: c[y**2*w] = -c[x*y]", "x": xs, "y": -xs,
                "stable": (xs > 0) if x == "x*y" else (xs < 0), "slope": -1.0}

    def plot(self, plt: Any, rule: Rule, result: dict, config: Config) -> Any:
        """Inputs of a held-out dataset on (PC1, PC2), unit PC1, and the weight trajectory."""
        from .. import seeding

        trials = self.make_trials(seeding.heldout_seeds(config, 4))
        X, u1 = trials.X[0], trials.U1[0]
        _, vecs = np.linalg.eigh(X.T @ X)
        u2 = vecs[:, -2]
        path = self.trajectory(rule, X, trials.W0[0])
        fig, ax = plt.subplots(figsize=(5.2, 5))
        ax.scatter(X @ u1, X @ u2, s=6, alpha=0.4, label="inputs (held-out dataset)")
        for s in (1, -1):
            ax.plot([0, s * 1.0], [0, 0], "k-", lw=2, label="unit PC1" if s == 1 else None)
        ax.plot(path @ u1, path @ u2, "r.-", ms=3, lw=1, label="weights w, one point per pass")
        ax.plot(path[-1] @ u1, path[-1] @ u2, "r*", ms=12, label="final w")
        ax.set_xlabel("projection on PC1 (input units)")
        ax.set_ylabel("projection on PC2 (input units)")
        ax.set_title("Oja task: inputs, PC1 and the weight trajectory")
        ax.axis("equal")
        ax.legend(fontsize=7)
        return fig

    def trajectory(self, rule: PolynomialRule, X: np.ndarray, w0: np.ndarray) -> np.ndarray:
        """Weights after each pass of one run (numpy, for the figure); stops if they blow up."""
        w = w0.astype(float).copy()
        path = [w.copy()]
        for _ in range(self.cfg.n_passes):
            for x in X:
                y = float(w @ x)
                w = w + rule.update(x, y, w)
                if not np.all(np.isfinite(w)) or np.abs(w).max() > 1e6:
                    return np.array(path)
            path.append(w.copy())
        return np.array(path)

    def theory(self, rule: PolynomialRule, trials: OjaTrials | None = None) -> dict[str, Any]:
        """The shape criterion (:func:`evoplast.theory.oja_comparison`) and, given trials, the
        rule's mean 1-|cos(w, PC1)| on them beside Oja's rule with the same eta on the same
        datasets: ``heldout_vs_oja`` is true when the rule's is at most
        ``max(HELDOUT_VS_OJA * Oja's, HELDOUT_ABS)`` (within 1.5x of Oja's own score, or below 0.01),
        and ``rediscovered`` when that and ``is_oja`` both hold."""
        out = theory.oja_comparison(rule.as_dict())
        out["effective_dimension"] = effective_dimension(self.spectrum)  # of the population spectrum
        if trials is not None:
            both = np.stack([rule.to_vector(), self.known_rule().to_vector()])
            W, status = self.simulate(both, trials)
            with np.errstate(all="ignore"):
                cos = np.abs(np.einsum("kdn,dn->kd", W, trials.U1)) / np.linalg.norm(W, axis=2)
            omc = np.where((status == rate.OK) & np.isfinite(cos), 1.0 - cos, 1.0).mean(axis=1)
            ok = bool(omc[0] <= max(HELDOUT_VS_OJA * omc[1], HELDOUT_ABS))
            out.update({"heldout_rule_mean_one_minus_cos": float(omc[0]),
                        "heldout_oja_mean_one_minus_cos": float(omc[1]),
                        "heldout_vs_oja": ok, "rediscovered": ok and out["is_oja"]})
        return out


HELDOUT_VS_OJA, HELDOUT_ABS = 1.5, 0.01


def _top_two(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two largest eigenvalues of X^T X and its unit top eigenvector (the sample PC1): from
    ``eigh(X^T X)`` while N <= samples (as always), from the SVD of X when N > samples (the same
    numbers up to rounding and sign, O(S^2 N) instead of O(N^3): N = 1000 takes 0.02 s, not 0.26 s)."""
    S, N = X.shape
    if N <= S:
        vals, vecs = np.linalg.eigh(X.T @ X)
        return vals[::-1][:2], vecs[:, -1]
    _, sv, vt = np.linalg.svd(X, full_matrices=False)
    return sv[:2] ** 2, vt[0]


def _is_heldout(seed) -> bool:
    """Whether a trial seed is one of the held-out stream's (never filtered, never searched)."""
    from ..seeding import STREAM_HELDOUT

    key = getattr(seed, "spawn_key", ())
    return len(key) > 0 and key[0] == STREAM_HELDOUT
