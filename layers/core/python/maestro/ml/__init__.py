"""Model training and recommendations learned from a tenant's history.

training.py, onnx_export.py, feature_store.py and feature_definitions.py import scikit-learn, MLflow, Feast or
pandas (seconds of import time): only the batch jobs (maestro.jobs), benchmarks and tests import them. recommend.py
needs numpy only: the request path scores artifacts and team shapes with it, from state the retrain job saved
(tests/unit/test_cold_path.py).
"""
