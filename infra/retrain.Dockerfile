# The training jobs (retrain_meta_models_on_request, retrain_meta_models_scheduled, refresh_features_hourly) as a
# Lambda container image: scikit-learn, MLflow, Feast and pandas are far beyond the 250 MB zip limit.
# Same entry points as the zip functions (ImageConfig.Command = app.<function name>, set by infra/template.py),
# same dependencies as the test virtualenv (constraints.txt), so the suite that runs the handlers locally tests
# what this image runs. Build from the project root after `make embedding-model`:
#   docker build -f infra/retrain.Dockerfile -t maestro-retrain .
# Debian's Python (glibc 2.36) with the AWS runtime interface client, not the Amazon Linux 2 base image:
# Feast needs numpy 2, whose current wheels need glibc >= 2.28.
FROM python:3.11.7-slim-bookworm

WORKDIR /var/task
COPY pyproject.toml constraints.txt ./
COPY layers/core/python ./layers/core/python
COPY layers/embedding/python ./layers/embedding/python
RUN pip install --no-cache-dir -c constraints.txt ".[ml,embedding]" "awslambdaric==4.2.2"
COPY build/embedding-model /opt/embedding-model
COPY app.py ./
COPY functions ./functions
COPY feature_repo ./feature_repo
ENV MLFLOW_DISABLE_TELEMETRY=true MAESTRO_EMBEDDING_MODEL_DIR=/opt/embedding-model

ENTRYPOINT ["python", "-m", "awslambdaric"]
CMD ["app.retrain_meta_models_scheduled"]
