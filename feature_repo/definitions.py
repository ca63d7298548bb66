"""The Feast CLI's view of the meta-learning feature store (`feast plan`, `feast apply` in this folder).

The objects are built in one place, maestro.ml.feature_definitions, from the stage's settings (MAESTRO_* and
AWS_ENDPOINT_URL); this module only exposes them at module level, where the CLI looks for them. Prefer
`python -m maestro.ml.feature_store apply|materialize`, which needs no feature_store.yaml (docs/feature-store.md).
"""

from maestro.ml.feature_definitions import repo_objects
from maestro.ml.feature_store import prepare_environment
from maestro.settings import get_settings

_settings = get_settings()
prepare_environment(_settings)  # S3 registry endpoint; an fsspec "s3" filesystem when s3fs is missing
globals().update({obj.name: obj for obj in repo_objects(_settings)})
