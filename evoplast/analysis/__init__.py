"""Analysis of runs: pandas tables of run directories, rule-space maps."""

from .runs import load_evaluations, load_results, load_runs

__all__ = ["load_evaluations", "load_results", "load_runs"]
