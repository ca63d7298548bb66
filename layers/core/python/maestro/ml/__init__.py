"""Model training and recommendations learned from a tenant's history.

Modules here import scikit-learn (about 3.5 s of import time): only training jobs, benchmarks and tests import
them. Request-time functions never do (tests/unit/test_cold_path.py); they read the JSON summaries these jobs
write (`TargetModel.to_dict()`) or call a job.
"""
