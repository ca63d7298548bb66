from datetime import datetime, timezone

from maestro.ingestion.drops import DropLocation, parse_drop_key, receive_drop, result_key


def test_drop_key_names_tenant_project_and_file():
    assert parse_drop_key("ingest/t-1/p_2/logs/2026/git.gitlog") == DropLocation("t-1", "p_2", "logs/2026/git.gitlog")


def test_malformed_drop_keys_are_refused():
    for key in ("ingest/t1/file.jsonl", "ingest/t1/p1/", "ingest//p1/x", "other/t1/p1/x", "ingest/../p1/x"):
        assert parse_drop_key(key) is None, key


def test_result_manifest_mirrors_the_drop_path():
    assert result_key("ingest/t1/p1/a.jsonl") == "ingest-results/t1/p1/a.jsonl.json"


def test_receipt_for_good_and_bad_keys():
    now = datetime(2026, 1, 2, tzinfo=timezone.utc)
    ok = receive_drop("ingest/t1/p1/a.jsonl", 12, '"etag"', now)
    assert ok.status == "received" and ok.tenant_id == "t1" and ok.project_id == "p1"
    bad = receive_drop("ingest/t1/a.jsonl", 12, None, now)
    assert bad.status == "rejected" and "ingest/<tenant_id>/<project_id>" in bad.reason
    assert "tenant_id" not in bad.to_manifest()
