"""The model package: what a logged model is made of and carries as its code.

The raw-row schema, the feature step, the target wrappers, the MLP, the drift statistics and the
regression scores. It imports nothing else of this repository and no MLflow, DVC or params.yaml, so
a logged model needs only this folder and its libraries to load and predict.
"""
