"""The serving function: API Gateway sends POST .../predict to `serve_predictions` instead of api_handler (the same
Chalice app answers it, app.serve_predictions), so graphs load only there, with the onnxruntime layer, more memory
and /tmp. The graph budgets of maestro.domain.model_serving fit SERVING_MEMORY_MB and SERVING_EPHEMERAL_MB."""

from __future__ import annotations

from typing import Any

from infra.template.stage import ChaliceFunction, _sub

SERVING_FUNCTION = "serve_predictions"
# (method, path) -> the function API Gateway's integration for that route invokes.
SERVING_ROUTES = {("post", "/v1/artifacts/{artifact_id}/versions/{version}/predict"): SERVING_FUNCTION}
SERVING_MEMORY_MB = 2048
SERVING_EPHEMERAL_MB = 2048
SERVING_TIMEOUT_SECONDS = 29  # API Gateway's own limit


def serving_paths(functions: dict[str, ChaliceFunction]) -> dict[str, Any]:
    """The swagger override that sends each SERVING_ROUTES path to its own function (merged into Chalice's)."""
    paths: dict[str, Any] = {}
    for (method, path), name in SERVING_ROUTES.items():
        if name not in functions:
            continue
        uri = _sub(
            "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            f"${{{functions[name].logical_id}.Arn}}/invocations"
        )
        paths.setdefault(path, {})[method] = {"x-amazon-apigateway-integration": {"uri": uri}}
    return {"paths": paths} if paths else {}


def serving_resources(functions: dict[str, ChaliceFunction], api: str) -> dict[str, Any]:
    """The serving function's size, and API Gateway's permission to invoke it."""
    serving = functions.get(SERVING_FUNCTION)
    if serving is None:
        return {}
    return {
        serving.logical_id: {
            "Properties": {
                "MemorySize": SERVING_MEMORY_MB,
                "EphemeralStorage": {"Size": SERVING_EPHEMERAL_MB},
                "Timeout": SERVING_TIMEOUT_SECONDS,
            }
        },
        f"{serving.logical_id}InvokePermission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": serving.logical_id},
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": _sub(
                    f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api}}}/*"
                ),
            },
        },
    }
