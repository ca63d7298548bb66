"""Maestro ML: the Chalice app. Wiring only; every handler lives in functions/."""
from chalice import Chalice

from functions import ingestion
from functions.api_keys import api_keys_api
from functions.artifacts import artifacts_api
from functions.audit import audit_api
from functions.auth import auth_api
from functions.authorizer import authorizer_api
from functions.health import health_api
from functions.projects import projects_api
from functions.tenant import tenant_api
from functions.users import users_api
from maestro.http.api import problem_middleware
from maestro.startup import assert_deployable

assert_deployable()

app = Chalice(app_name="maestro-ml")
app.register_middleware(problem_middleware, "http")
for blueprint in (authorizer_api, health_api, auth_api, users_api, api_keys_api, audit_api, tenant_api,
                  projects_api, artifacts_api):
    app.register_blueprint(blueprint)


@app.on_cw_event(ingestion.object_created_pattern(), name="ingest_object_created")
def ingest_object_created(event):
    return ingestion.handle_object_created(event.to_dict())
