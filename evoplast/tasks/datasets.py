r"""Random datasets with a known principal-component structure.

A dataset has covariance :math:`C = Q^\top D Q` with :math:`D = \mathrm{diag}(\lambda_1 \ge
\lambda_2 \ge \dots)` a fixed spectrum and :math:`Q` a Haar-distributed random rotation, made by
one of two methods (``rotation``; the same distribution, different draws):

* ``"qr"`` (default; every result table before 0.5.0) -- QR of an N x N Gaussian matrix, signs of
  R's diagonal fixed: :math:`O(N^3)` per dataset (at N = 1000 two thirds of a generation of
  ``runs/oja_n1000.toml`` before 0.5.0);
* ``"householder"`` -- the samples are rotated without forming Q, by a product of N - 1 random
  reflections (:mod:`evoplast.tasks.rotations`): :math:`O(S N^2)` per dataset of S samples, in
  blocked matrix products. ``python analysis/dataset_speed.py`` (S = 100, one thread, least
  favourable of minima and medians): 3.8x faster at N = 1000, 1.6x at N = 300, 0.5x (slower) at N = 100.

Samples are :math:`x = Q^\top (\sqrt{\lambda} \odot z)` with :math:`z` i.i.d., zero mean, unit
variance: Gaussian, Laplace (scale :math:`1/\sqrt 2`) or uniform (:math:`\pm\sqrt 3`), so every
distribution has the same covariance. The unit principal components are the rows of :math:`Q`:
:math:`u_i = Q_{i\cdot}`.

Spectra (``spectrum`` argument):

* ``"paper"`` -- the re-implementation's spectra, N=3: (1, 0.5, 0); N=5: (1, 0.7, 0.2, 0.1, 0);
  N=100: (1, 0.9, 0.8, 0.7, 0.6, 0.5, 0, ...); other N have none.
* ``"geometric"`` -- :math:`\lambda_1 = 1`, :math:`\lambda_k = 0.5 \cdot 0.7^{k-2}` for k >= 2:
  eigen-gap 0.5 and a bounded total variance (< 2.7) for every N, so one learning rate suits all N
  (Oja's stationary fluctuation grows with :math:`\sum_k \lambda_k / (\lambda_1 - \lambda_k)`).
* ``"tail"`` -- :math:`\lambda_1 = 1`, :math:`\lambda_k = \ell\,(k-1)^{-p}` for k >= 2 (``tail_level``
  :math:`\ell < 1`, ``tail_power`` p >= 0; p = 0 is a flat tail): a clear gap below PC1 and an
  effective dimension :math:`(\sum_k \lambda_k)^2 / \sum_k \lambda_k^2` that grows with N
  (:func:`effective_dimension`; flat tail: about :math:`(1 + (N-1)\ell)^2 / (1 + (N-1)\ell^2)`, 110
  at N = 1000 and l = 0.01), while Oja's stationary fluctuation, set by
  :math:`\sum_{k \ge 2} \lambda_k / (\lambda_1 - \lambda_k)` (about 10 there), stays modest.
* ``"auto"`` (default) -- ``"paper"`` where it exists, else ``"geometric"``.
* a list of N non-negative numbers in decreasing order with :math:`\lambda_1 > \lambda_2`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError
from .rotations import householder_draws, rotate_rows

PAPER_SPECTRA = {
    3: (1.0, 0.5, 0.0),
    5: (1.0, 0.7, 0.2, 0.1, 0.0),
    100: (1.0, 0.9, 0.8, 0.7, 0.6, 0.5) + (0.0,) * 94,
}
DISTRIBUTIONS = ("gaussian", "laplace", "uniform")
ROTATIONS = ("qr", "householder")


def make_spectrum(n: int, spectrum: str | Sequence[float] = "auto", tail_level: float = 0.01,
                  tail_power: float = 0.0) -> np.ndarray:
    """Eigenvalues (decreasing, length n) for the named or given spectrum (``tail_level`` and
    ``tail_power``: the ``"tail"`` family's)."""
    if n < 2:
        raise ConfigError(f"n_inputs must be >= 2, got {n}")
    if isinstance(spectrum, str):
        if spectrum == "auto":
            spectrum = "paper" if n in PAPER_SPECTRA else "geometric"
        if spectrum == "paper":
            if n not in PAPER_SPECTRA:
                raise ConfigError(f"no paper spectrum for n_inputs={n} (only {sorted(PAPER_SPECTRA)})")
            return np.array(PAPER_SPECTRA[n])
        if spectrum == "geometric":
            return np.concatenate([[1.0], 0.5 * 0.7 ** np.arange(n - 1)])
        if spectrum == "tail":
            if not 0 < tail_level < 1 or not tail_power >= 0:
                raise ConfigError(f"the tail spectrum needs 0 < task.tail_level < 1 and task.tail_power "
                                  f">= 0, got {tail_level}, {tail_power}")
            return np.concatenate([[1.0], tail_level * np.arange(1, n, dtype=float) ** -tail_power])
        raise ConfigError(f"unknown spectrum {spectrum!r}; use 'auto', 'paper', 'geometric', 'tail' or "
                          f"a list")
    lam = np.asarray(spectrum, dtype=float)
    if lam.shape != (n,):
        raise ConfigError(f"spectrum has {lam.size} values, n_inputs is {n}")
    if not np.all(np.isfinite(lam)) or np.any(lam < 0) or np.any(np.diff(lam) > 0):
        raise ConfigError("spectrum must be finite, non-negative and decreasing")
    if not lam[0] > lam[1]:
        raise ConfigError("spectrum needs a gap: lambda_1 > lambda_2, else PC1 is not defined")
    return lam


def effective_dimension(spectrum: np.ndarray) -> float:
    """(sum_k lambda_k)^2 / sum_k lambda_k^2: 1 for one direction, N for a flat spectrum."""
    lam = np.asarray(spectrum, dtype=float)
    return float(lam.sum() ** 2 / (lam ** 2).sum())


def random_rotation(n: int, rng: np.random.Generator) -> np.ndarray:
    """Haar-distributed orthogonal matrix (QR of a Gaussian matrix, signs of R's diagonal fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))[None, :]


def unit_noise(shape: int | tuple[int, ...], distribution: str, rng: np.random.Generator) -> np.ndarray:
    """I.i.d. zero-mean, unit-variance numbers of the named distribution."""
    if distribution == "gaussian":
        return rng.standard_normal(shape)
    if distribution == "laplace":
        return rng.laplace(0.0, 1.0 / np.sqrt(2.0), shape)
    if distribution == "uniform":
        return rng.uniform(-np.sqrt(3.0), np.sqrt(3.0), shape)
    raise ConfigError(f"unknown input_distribution {distribution!r}; use one of {DISTRIBUTIONS}")


def sample_dataset(n_samples: int, spectrum: np.ndarray, distribution: str,
                   rng: np.random.Generator, rotation: str = "qr",
                   with_pcs: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Samples X (n_samples, N) with covariance Q^T diag(spectrum) Q, and Q (rows = unit PCs).

    ``rotation``: ``"qr"`` or ``"householder"`` (module docstring). With ``"householder"`` and
    ``with_pcs=False`` Q is not formed (None is returned in its place): O(S N^2) instead of O(N^3)."""
    n = spectrum.size
    if rotation == "qr":
        q = random_rotation(n, rng).T  # rows of q are the principal components
        z = unit_noise((n_samples, n), distribution, rng)
        return (z * np.sqrt(spectrum)[None, :]) @ q, q
    if rotation != "householder":
        raise ConfigError(f"unknown rotation {rotation!r}; use one of {ROTATIONS}")
    g, sign = householder_draws(n, rng)
    X = unit_noise((n_samples, n), distribution, rng) * np.sqrt(spectrum)[None, :]
    rotate_rows(X, g, sign)
    q = None
    if with_pcs:
        q = np.eye(n)
        rotate_rows(q, g, sign)
    return X, q
