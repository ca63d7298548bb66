"""Alarms on the functions and dead-letter queues, and the platform dashboard."""

from __future__ import annotations

import json
from typing import Any

from infra.template.stage import ALARM_TOPIC, ChaliceFunction, StageConfig, _sub

METRICS_NAMESPACE = "MaestroML"
METRICS_SERVICE = "maestro"  # Powertools adds it as the `service` dimension of every platform metric


def _alarm(description: str, namespace: str, metric: str, dimension: str, value: Any, statistic: str) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": dimension, "Value": value}],
            "Statistic": statistic,
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",  # idle is healthy
            "AlarmActions": [{"Ref": ALARM_TOPIC}],
            "OKActions": [{"Ref": ALARM_TOPIC}],
        },
    }


def _lambda_alarm(function: ChaliceFunction, metric: str) -> dict[str, Any]:
    return _alarm(
        f"{function.name}: {metric.lower()}", "AWS/Lambda", metric, "FunctionName", {"Ref": function.logical_id}, "Sum"
    )


def _widget(title: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Sum") -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "metrics": metrics,
            "view": "timeSeries",
            "stacked": False,
            "region": "${AWS::Region}",
            "stat": stat,
            "period": 300,
        },
    }


def dashboard_resource(stage: StageConfig, functions: list[ChaliceFunction]) -> dict[str, Any]:
    """The platform's own metrics (Powertools EMF, namespace MaestroML) beside its functions' and DLQs'."""
    platform = [METRICS_NAMESPACE]
    http = [[*platform, f"Http{n}xx", "service", METRICS_SERVICE] for n in (2, 4, 5)]
    drops = [[*platform, f"IngestDrops{s}", "service", METRICS_SERVICE] for s in ("Received", "Rejected")]
    by_function = [
        ["AWS/Lambda", "{metric}", "FunctionName", f"${{{f.logical_id}}}", {"label": f.name}] for f in functions
    ]
    queues = [
        [
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            f"${{{f.dead_letter_queue}.QueueName}}",
            {"label": f.name},
        ]
        for f in functions
        if f.is_async
    ]

    def per_function(metric: str) -> list[list[Any]]:
        return [[m if m != "{metric}" else metric for m in row] for row in by_function]

    widgets = [
        _widget("HTTP responses", http, 0, 0),
        _widget("Ingest drops", drops, 12, 0),
        _widget("Function duration (p95, ms)", per_function("Duration"), 0, 6, stat="p95"),
        _widget("Function errors", per_function("Errors"), 12, 6),
        _widget("Function throttles", per_function("Throttles"), 0, 12),
    ]
    if queues:
        widgets.append(_widget("Dead-letter queue depth", queues, 12, 12, stat="Maximum"))
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": stage.resource_name("platform"),
            "DashboardBody": _sub(json.dumps({"widgets": widgets}, separators=(",", ":"))),
        },
    }
