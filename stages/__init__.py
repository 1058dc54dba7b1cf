"""The DVC pipeline's entry points (ingest, drift, preprocess, train, evaluate, register) and their
plumbing (params, atomic writes, errors, tracking, telemetry, device, the per-family builders)."""
