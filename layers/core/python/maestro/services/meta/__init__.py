"""Meta-learning use cases: predictions, recommendations, the models' state and retraining requests, and the
scoring of stored predictions. Training itself is batch code in maestro.ml (never imported here)."""
