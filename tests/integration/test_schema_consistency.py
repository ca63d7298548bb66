"""One source of truth: the tables the local stack created must be exactly what the pynamodb models declare."""

import pytest

from maestro.repositories.schema import TABLE_MODELS, table_definition

pytestmark = pytest.mark.integration


def _described(dynamodb, name):
    table = dynamodb.describe_table(TableName=name)["Table"]
    described = {
        "KeySchema": table["KeySchema"],
        "BillingMode": table.get("BillingModeSummary", {}).get("BillingMode"),
        "AttributeDefinitions": sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
    }
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if table.get(kind):
            described[kind] = sorted(
                (
                    {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
                    for i in table[kind]
                ),
                key=lambda i: i["IndexName"],
            )
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") == "ENABLED":
        described["TimeToLiveSpecification"] = {"AttributeName": ttl["AttributeName"], "Enabled": True}
    return described


@pytest.mark.parametrize("model", TABLE_MODELS, ids=lambda m: m.logical_name)
def test_deployed_table_matches_its_model(model, dynamodb, local_stack):
    from maestro.settings import get_settings

    assert _described(dynamodb, get_settings().table_name(model.logical_name)) == table_definition(model)


def test_every_tenant_table_is_partitioned_by_tenant():
    """Tenant data carries the tenant in its partition key; the global tables are listed and justified."""
    global_tables = {
        "tenants",
        "user-emails",
        "idempotency",
        "rate-limits",
        "repository-integrations",
    }  # audit-heads: by tenant_id
    for model in TABLE_MODELS:
        hash_key = next(k["AttributeName"] for k in table_definition(model)["KeySchema"] if k["KeyType"] == "HASH")
        if model.logical_name in global_tables:
            continue
        assert hash_key in ("tenant_id", "tenant_project", "tenant_artifact", "tenant_parent"), model.logical_name


def test_a_drifted_table_is_detected(dynamodb, local_stack):
    """The check above can fail: a table created with another key schema does not match the model."""
    from maestro.repositories.schema import Project

    name = "maestro-test-drifted-projects"
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "tenant_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "tenant_id", "AttributeType": "S"}],
    )
    assert _described(dynamodb, name) != table_definition(Project)
