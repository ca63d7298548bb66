from maestro.ingestion.drops import DropLocation, parse_drop_key, result_key


def test_drop_key_names_tenant_project_and_file():
    assert parse_drop_key("ingest/t-1/p_2/logs/2026/git.gitlog") == DropLocation("t-1", "p_2", "logs/2026/git.gitlog")


def test_malformed_drop_keys_are_refused():
    for key in ("ingest/t1/file.jsonl", "ingest/t1/p1/", "ingest//p1/x", "other/t1/p1/x", "ingest/../p1/x"):
        assert parse_drop_key(key) is None, key


def test_result_manifest_mirrors_the_drop_path():
    assert result_key("ingest/t1/p1/a.jsonl") == "ingest-results/t1/p1/a.jsonl.json"
