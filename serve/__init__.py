"""serve: a thin Flask app that answers predictions from the registered champion model."""
