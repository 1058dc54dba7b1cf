"""Operations on top of the pipeline and the server: the retrain decision, promotion, presets, results.

May import the model package, stages/ and serve/; nothing imports it.
"""
