"""DVC pipeline stages for housing-mlops: ingest, preprocess, train, evaluate, register."""
