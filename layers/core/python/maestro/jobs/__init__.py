"""The batch jobs: a tenant's retraining (.retrain) and the hourly feature refresh (.feature_refresh). They compose
services, repositories and the model code of maestro.ml, so they sit above all three (functions/jobs.py runs them)."""
