"""The registry aliases the pipeline assigns and the server watches."""

CHAMPION = "champion"
"""The version that answers requests."""
CHALLENGER = "challenger"
"""A newer version that has not beaten the champion; served beside it in shadow or split mode."""
DEFAULT_MODEL_NAME = "california-housing"
"""What the server looks up when SERVE_MODEL_NAME is unset: the name params.yaml registers under."""
