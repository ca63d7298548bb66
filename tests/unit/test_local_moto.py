"""The local stack's moto server reads a query's partition, and within it only the run of range keys a BETWEEN or
begins_with condition selects (infra/local/moto_app.py): every query still returns exactly what DynamoDB would,
in order, page by page."""

from __future__ import annotations

import random

import boto3
import pytest
from moto import mock_aws

from infra.local.moto_app import partition_scoped_queries


@pytest.fixture
def dynamodb(monkeypatch):
    from moto.dynamodb.models.table import Table

    monkeypatch.setattr(Table, "query", Table.query)  # restored after the test
    partition_scoped_queries()
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with mock_aws():
        yield boto3.client("dynamodb")


def _table(client, name: str, range_type: str) -> None:
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": range_type},
        ],
    )


def _query_all(client, name: str, condition: str, values: dict, forward: bool = True, limit: int = 7) -> list:
    """Every page of a query, as (pk, sk) pairs in the order returned."""
    found, start = [], None
    while True:
        kwargs = {
            "TableName": name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": forward,
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = client.query(**kwargs)
        found += [(item["pk"]["S"], next(iter(item["sk"].values()))) for item in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            return found


def test_string_range_conditions_return_exactly_the_matching_items_in_order(dynamodb):
    rng = random.Random(4)
    _table(dynamodb, "events", "S")
    keys = {"p1": set(), "p2": set()}
    for _ in range(400):
        partition = rng.choice(["p1", "p2"])
        key = (
            f"{rng.choice(['commits', 'commit', 'pr_merged', 'pr_opened', 'tests'])}#2026-0{rng.randint(1, 9)}-"
            f"{rng.randint(10, 28)}T{rng.randint(10, 23)}"
        )
        keys[partition].add(key)
        dynamodb.put_item(TableName="events", Item={"pk": {"S": partition}, "sk": {"S": key}})
    cases = [
        (
            "pk = :p AND sk BETWEEN :a AND :b",
            {":a": "commits#2026-03", ":b": "commits#2026-07"},
            lambda k: "commits#2026-03" <= k <= "commits#2026-07",
        ),
        ("pk = :p AND begins_with(sk, :a)", {":a": "commit"}, lambda k: k.startswith("commit")),
        ("pk = :p AND begins_with(sk, :a)", {":a": "pr_"}, lambda k: k.startswith("pr_")),
        ("pk = :p AND begins_with(sk, :a)", {":a": "zzz"}, lambda k: False),
        ("pk = :p AND sk BETWEEN :a AND :b", {":a": "tests#", ":b": "tests#\uffff"}, lambda k: k.startswith("tests#")),
        ("pk = :p AND sk < :a", {":a": "pr_opened"}, lambda k: k < "pr_opened"),
        ("pk = :p AND sk >= :a", {":a": "pr_merged#2026-05"}, lambda k: k >= "pr_merged#2026-05"),
        ("pk = :p", {}, lambda k: True),
    ]
    for condition, values, selects in cases:
        for forward in (True, False):
            bound = {":p": {"S": "p1"}, **{name: {"S": value} for name, value in values.items()}}
            expected = [("p1", k) for k in sorted((k for k in keys["p1"] if selects(k)), reverse=not forward)]
            assert _query_all(dynamodb, "events", condition, bound, forward) == expected, (condition, forward)


def test_numeric_range_keys_are_ordered_as_numbers(dynamodb):
    _table(dynamodb, "numbers", "N")
    for value in (1, 2, 10, 11, 100, 5, 50, -3):
        dynamodb.put_item(TableName="numbers", Item={"pk": {"S": "p"}, "sk": {"N": str(value)}})
    found = _query_all(
        dynamodb,
        "numbers",
        "pk = :p AND sk BETWEEN :a AND :b",
        {":p": {"S": "p"}, ":a": {"N": "2"}, ":b": {"N": "50"}},
        limit=2,
    )
    assert [int(v) for _, v in found] == [2, 5, 10, 11, 50]
    assert [int(v) for _, v in _query_all(dynamodb, "numbers", "pk = :p", {":p": {"S": "p"}})] == [
        -3,
        1,
        2,
        5,
        10,
        11,
        50,
        100,
    ]
