from maestro.domain.health import check_health


def _down():
    raise ConnectionError("refused")


def test_all_probes_ok_is_healthy():
    report = check_health({"dynamodb": lambda: None, "s3": lambda: None})
    assert report.healthy and report.failing == []
    assert report.to_body()["status"] == "ok"


def test_failing_probe_is_named():
    report = check_health({"dynamodb": lambda: None, "s3": _down})
    assert not report.healthy
    assert report.failing == ["s3"]
    body = report.to_body()
    assert body["dependencies"]["s3"] == {
        "ok": False,
        "latency_ms": body["dependencies"]["s3"]["latency_ms"],
        "detail": "ConnectionError",
    }
