"""Reading run directories into pandas (more analysis arrives with the analysis issue)."""

from .runs import load_results

__all__ = ["load_results"]
