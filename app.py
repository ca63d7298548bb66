"""Maestro ML: the Chalice app. Wiring only; every handler lives in functions/."""
from chalice import Chalice

from functions import ingestion
from functions.health import health_api
from maestro.http.api import problem_middleware
from maestro.startup import assert_deployable

assert_deployable()

app = Chalice(app_name="maestro-ml")
app.register_middleware(problem_middleware, "http")
app.register_blueprint(health_api)


@app.on_cw_event(ingestion.object_created_pattern(), name="ingest_object_created")
def ingest_object_created(event):
    return ingestion.handle_object_created(event.to_dict())
