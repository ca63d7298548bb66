"""Storage of predictions: each is kept with what was asked and answered, and scored once its project finishes."""

from __future__ import annotations

from collections.abc import Iterator

from maestro.repositories.schema import Prediction, child_key
from maestro.repositories.tables import ensure_bound


def save_prediction(prediction: Prediction) -> None:
    ensure_bound()
    prediction.save(condition=Prediction.prediction_id.does_not_exist())


def get_prediction(tenant_id: str, prediction_id: str) -> Prediction | None:
    ensure_bound()
    try:
        return Prediction.get(tenant_id, prediction_id)
    except Prediction.DoesNotExist:
        return None


def predictions_of_project(tenant_id: str, project_id: str) -> Iterator[Prediction]:
    """Oldest first, through the project index."""
    ensure_bound()
    return Prediction.by_project.query(child_key(tenant_id, project_id))
