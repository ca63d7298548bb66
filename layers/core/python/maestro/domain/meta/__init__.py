"""Meta-learning over a tenant's own history: the documented generator of realistic tenant history (projects,
members, artifacts with versions, usages, git/CI/MLflow metrics, outcomes) with known causal structure, and the
leak-free feature vector of a project as known at the prediction cut-off.

Pure domain code (numpy only). The models trained on these features live in `maestro.ml`, which imports
scikit-learn and is imported only by training jobs and tests.
"""
