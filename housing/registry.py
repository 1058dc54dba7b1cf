"""The registry's names, until serve/ imports them from housing.names, their one home (then this goes)."""

from housing.names import CHALLENGER, CHAMPION, DEFAULT_MODEL_NAME

__all__ = ["CHALLENGER", "CHAMPION", "DEFAULT_MODEL_NAME"]
