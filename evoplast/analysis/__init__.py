"""Analysis of runs: pandas tables of run directories, rule-space maps, families of rules."""

from .family import load_family
from .runs import load_evaluations, load_results, load_runs

__all__ = ["load_evaluations", "load_family", "load_results", "load_runs"]
