"""kubectl-jxsecret: check, fill, sync and move Jenkins X style secrets."""

__version__ = "0.1.0"
