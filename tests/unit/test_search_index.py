"""The per-tenant search index (maestro.domain.search_index): BM25 scores identical to bm25s's own index on real
text, updates (upserts, removals, replays) that give the same answers as an index built from scratch, the
snapshot round trip, identifier splitting, exact-name first, filters on the index, and the hybrid blend."""

from __future__ import annotations

import importlib
import inspect
import io
from collections import Counter

import bm25s
import numpy as np
import pytest

from maestro.domain import search_index as si
from maestro.domain.search_index import IndexDoc, IndexFilters, TenantIndex, make_doc, terms

ALL = IndexFilters(include_deprecated=True)
STDLIB_MODULES = (
    "json",
    "csv",
    "argparse",
    "logging",
    "pathlib",
    "datetime",
    "collections",
    "itertools",
    "functools",
    "statistics",
    "sqlite3",
    "zipfile",
    "tarfile",
    "heapq",
    "bisect",
    "textwrap",
    "string",
    "random",
    "shutil",
    "tempfile",
    "hashlib",
    "hmac",
    "base64",
    "gzip",
    "difflib",
    "pprint",
    "calendar",
    "fractions",
    "decimal",
    "uuid",
)


def _stdlib_corpus() -> list[tuple[str, str]]:
    """(module name, its docstrings) for stdlib modules: real prose nobody here wrote."""
    corpus = []
    for name in STDLIB_MODULES:
        module = importlib.import_module(name)
        docs = [inspect.getdoc(module) or ""]
        docs += [inspect.getdoc(obj) or "" for _, obj in inspect.getmembers(module) if callable(obj)][:40]
        corpus.append((name, "\n".join(docs)))
    return corpus


def _plain_doc(artifact_id: str, text: str, version_ms: int = 1) -> IndexDoc:
    return IndexDoc(artifact_id, artifact_id, "dataset", (), 0.0, 0, 0, False, Counter(terms(text)), None, version_ms)


QUERIES = ("parse command line arguments", "compress files into an archive", "random numbers", "date and time zone")


def test_bm25_scores_equal_bm25s_indexing_the_same_tokens():
    corpus = _stdlib_corpus()
    index = TenantIndex()
    for name, text in corpus:
        index.upsert(_plain_doc(name, text))
    index.compact()
    reference = bm25s.BM25(k1=si.K1, b=si.B, method="lucene")
    reference.index([terms(text) for _, text in corpus], show_progress=False)
    for query in QUERIES:
        ours = index.bm25_scores(query)
        theirs = reference.get_scores([t for t in dict.fromkeys(terms(query)) if t in reference.vocab_dict])
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
        assert ours.max() > 0


def test_changes_then_compaction_answer_like_an_index_built_from_the_final_documents():
    corpus = _stdlib_corpus()
    updated = dict(corpus)
    index = TenantIndex()
    for name, text in corpus[:20]:
        index.upsert(_plain_doc(name, text, version_ms=1))
    index.compact()
    for name, text in corpus[20:]:  # new documents after the snapshot
        index.upsert(_plain_doc(name, text, version_ms=2))
    index.remove("csv", 3)
    updated.pop("csv")
    index.upsert(_plain_doc("json", "serialise objects as JSON text and parse it back", version_ms=3))
    updated["json"] = "serialise objects as JSON text and parse it back"
    # before compaction: the delta is searchable at once, the removed document is not
    assert "gzip" in index.keyword("compress files gzip", ALL, 10).ids
    assert "csv" not in index.keyword("comma separated values reader writer", ALL, 50).ids
    index.compact()
    fresh = TenantIndex()
    for name, text in updated.items():
        fresh.upsert(_plain_doc(name, text))
    fresh.compact()
    for query in (*QUERIES, "serialise objects"):
        assert index.keyword(query, ALL, 50).ids == fresh.keyword(query, ALL, 50).ids
        np.testing.assert_allclose(index.keyword(query, ALL, 50).scores, fresh.keyword(query, ALL, 50).scores)


def test_a_replayed_older_change_never_undoes_a_newer_one():
    index = TenantIndex()
    index.upsert(_plain_doc("a", "churn model", version_ms=10))
    index.remove("a", 20)
    assert not index.upsert(_plain_doc("a", "churn model", version_ms=10))  # the overlap re-read
    assert index.keyword("churn", ALL, 10).ids == []
    assert index.upsert(_plain_doc("a", "churn model again", version_ms=30))
    assert index.keyword("churn", ALL, 10).ids == ["a"]
    assert not index.remove("a", 25)
    assert index.keyword("churn", ALL, 10).ids == ["a"]


def _record(name: str, kind: str = "model", **fields) -> dict:
    return {"name": name, "type": kind, "description": "", "tags": [], "metadata": {}, **fields}


def _library() -> TenantIndex:
    rng = np.random.default_rng(0)
    records = {
        "a1": _record("telco_churn_features", "feature_pipeline", tags=["churn", "telco"], impact_score=80),
        "a2": _record("churnModel", "model", description="gradient boosted churn classifier", impact_score=40),
        "a3": _record("churn.schema.v2", "schema", tags=["churn"], deprecated={"reason": "old"}, impact_score=90),
        "a4": _record("demand-forecast", "notebook", description="weekly demand forecasting", impact_score=10),
        "a5": _record("fraud model", "model", description="card fraud scoring", tags=["fraud"], impact_score=60),
    }
    index = TenantIndex()
    for number, (artifact_id, record) in enumerate(records.items()):
        index.upsert(make_doc(artifact_id, record, "", rng.standard_normal(si.DIMENSION), version_ms=number))
    return index


def test_identifiers_split_on_snake_camel_dots_and_dashes():
    assert terms("telco_churn_features churnModel churn.schema.v2 rb-churn-xgb") == [
        "telco",
        "churn",
        "feature",
        "churnmodel",
        "churn",
        "model",
        "churn",
        "schema",
        "v2",
        "rb",
        "churn",
        "xgb",
    ]
    assert terms("XMLParser HTTPResponse2 the categories") == [
        "xmlparser",
        "xml",
        "parser",
        "httpresponse2",
        "http",
        "response",
        "2",
        "category",
    ]
    index = _library()
    assert set(index.keyword("churn model", ALL, 10).ids) == {"a1", "a2", "a3", "a5"}  # not every word needed
    assert index.keyword("churn model", ALL, 10).ids[0] == "a2"


def test_an_exact_name_match_comes_first_whatever_separators_were_typed():
    index = _library()
    assert index.keyword("fraud model", ALL, 10).ids[0] == "a5"
    assert index.keyword("Telco Churn Features", ALL, 10).ids[0] == "a1"
    assert index.keyword("telco-churn-features", ALL, 10).ids[0] == "a1"
    query_vector = np.ones(si.DIMENSION)
    assert index.hybrid("churn schema v2", query_vector, ALL).ids[0] == "a3"


def test_an_exact_name_match_is_flagged_and_its_score_is_the_modes_own():
    """The ranking lifts a name match with EXACT_NAME_BONUS; the answer says name_match instead of showing the
    bonus (the console's library showed a match score of 1000001.188)."""
    index = _library()
    query_vector = np.ones(si.DIMENSION)
    bm25 = index.bm25_scores("fraud model")
    for ranked in (
        index.keyword("fraud model", ALL, 10),
        index.keyword("fraud model", ALL, 10, sort="recent"),
        index.hybrid("fraud model", query_vector, ALL),
        index.hybrid_rrf("fraud model", query_vector, ALL),
    ):
        first = ranked.ids.index("a5")
        assert ranked.name_match[first] is True and sum(ranked.name_match) == 1
        assert all(score is not None and score < 100 for score in ranked.scores)
    keyword = index.keyword("fraud model", ALL, 10)
    assert keyword.ids[0] == "a5" and keyword.scores[0] == pytest.approx(float(bm25[keyword.rows[0]]), abs=1e-6)
    assert not any(index.keyword("churn", ALL, 10).name_match)
    semantic = index.semantic(query_vector, ALL, 5)
    assert semantic.name_match == [False] * len(semantic.ids) and semantic.ids


def test_filters_apply_on_the_index():
    index = _library()
    assert index.keyword("churn", IndexFilters(), 10).ids.count("a3") == 0  # deprecated left out by default
    assert "a3" in index.keyword("churn", ALL, 10).ids
    assert index.keyword("churn", IndexFilters(type="feature_pipeline"), 10).ids == ["a1"]
    assert index.keyword("churn", IndexFilters(tags=("TELCO",)), 10).ids == ["a1"]
    assert set(index.filtered(IndexFilters(min_impact_score=50, include_deprecated=True), "impact", 10).ids) == {
        "a1",
        "a3",
        "a5",
    }
    assert index.filtered(IndexFilters(include_deprecated=True), "impact", 2).ids == ["a3", "a1"]
    assert index.filtered(IndexFilters(include_deprecated=True), "impact", 2).total == 5


def test_semantic_and_hybrid_answers_count_the_artifacts_without_a_vector():
    index = _library()
    index.upsert(make_doc("a6", _record("churn notebook", "notebook"), "", None, version_ms=99))
    query_vector = np.random.default_rng(1).standard_normal(si.DIMENSION)
    semantic = index.semantic(query_vector, ALL)
    assert "a6" not in semantic.ids and semantic.not_embedded == 1
    hybrid = index.hybrid("churn", query_vector, ALL)
    assert "a6" in hybrid.ids and hybrid.found_by[hybrid.ids.index("a6")] == ["keyword"]
    assert hybrid.not_embedded == 1


def test_the_snapshot_round_trip_keeps_every_answer_and_carries_no_pickle():
    index = _library()
    index.remove("a4", 50)
    index.watermark_ms, index.generation = 1234, 7
    data = index.to_snapshot()
    loaded = TenantIndex.from_snapshot(data)
    assert (loaded.watermark_ms, loaded.generation, loaded.size) == (1234, 7, 4)
    for query in ("churn", "fraud model", "demand"):
        assert loaded.keyword(query, ALL, 10).ids == index.keyword(query, ALL, 10).ids
    query_vector = np.random.default_rng(2).standard_normal(si.DIMENSION)
    assert loaded.semantic(query_vector, ALL).ids == index.semantic(query_vector, ALL).ids
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        assert all(stored[name].dtype != object for name in stored.files)
    with pytest.raises(ValueError):  # damaged: the zip's CRC no longer matches
        TenantIndex.from_snapshot(data.replace(b'"format": 1', b'"format": 9'))
    with pytest.raises(ValueError):
        TenantIndex.from_snapshot(b"not a snapshot")


def test_hybrid_blend_keeps_keyword_only_and_vector_only_hits():
    index = _library()
    churn_vector = index.base.vectors[0] if len(index.base) else index.delta["a1"].vector
    answer = index.hybrid("fraud", churn_vector, ALL)
    assert answer.ids[0] in {"a1", "a5"}
    assert {"a1", "a5"} <= set(answer.ids)
    assert "keyword" in answer.found_by[answer.ids.index("a5")]
    assert "semantic" in answer.found_by[answer.ids.index("a1")]


def _clustered_library(n_docs: int, seed: int = 3) -> tuple[TenantIndex, np.ndarray]:
    """`n_docs` documents whose vectors sit around 40 topic centres, their variance falling off along the
    directions as sentence embeddings' does (so a 128-direction projection is close but not exact), with a word
    of their topic in the text; compacted into a base segment."""
    rng = np.random.default_rng(seed)
    spectrum = 1 / (1 + np.arange(si.DIMENSION) / 16)
    basis = np.linalg.qr(rng.standard_normal((si.DIMENSION, si.DIMENSION)))[0] * spectrum
    centres = rng.standard_normal((40, si.DIMENSION)) @ basis.T
    index = TenantIndex()
    for n in range(n_docs):
        topic = n % 40
        vector = centres[topic] + 0.6 * rng.standard_normal(si.DIMENSION) @ basis.T
        record = _record(f"artifact {n} topic{topic}", "dataset")
        index.upsert(make_doc(f"d{n}", record, f"about topic{topic}", vector.astype(np.float32), version_ms=1))
    index.compact()
    return index, centres


def test_the_coarse_stage_at_scale_ranks_as_the_exact_cosine_does(monkeypatch):
    """Above COARSE_MIN_ROWS the base is scored on its principal directions first and the best candidates
    exactly: the top hits and their scores are those of the exact pass (fails if the candidates are not
    re-scored, or the projection loses the neighbours)."""
    index, centres = _clustered_library(3_000)
    rng = np.random.default_rng(9)
    queries = [centres[t] + 0.8 * rng.standard_normal(si.DIMENSION) for t in range(0, 40, 4)]
    exact = [(index.semantic(q, ALL, 20), index.hybrid(f"topic{t * 4}", q, ALL, 20)) for t, q in enumerate(queries)]
    monkeypatch.setattr(si, "COARSE_MIN_ROWS", 1_000)
    monkeypatch.setattr(si, "COARSE_RERANK", 3)
    index.base._coarse = None
    assert index.base.coarse() is not None and index.base.coarse()[1].shape == (3_000, si.COARSE_DIMENSION)
    approximate, _ = index.cosine_scores(queries[0])
    exact_scores = index.base.vectors @ (queries[0] / np.linalg.norm(queries[0]))
    assert np.abs(approximate - exact_scores).max() > 1e-3  # approximate indeed
    for (semantic, hybrid), t, q in zip(exact, range(len(queries)), queries, strict=True):
        coarse_semantic = index.semantic(q, ALL, 20)
        assert coarse_semantic.ids == semantic.ids
        assert coarse_semantic.scores == pytest.approx(semantic.scores, abs=1e-5)
        coarse_hybrid = index.hybrid(f"topic{t * 4}", q, ALL, 20)
        assert coarse_hybrid.ids == hybrid.ids and coarse_hybrid.found_by == hybrid.found_by


def test_vectors_of_base_and_delta_rows_come_back_in_the_order_asked():
    index, _ = _clustered_library(50)
    index.upsert(make_doc("new", _record("new one", "dataset"), "", np.ones(si.DIMENSION, dtype=np.float32), 2))
    delta_row = len(index.base)
    rows = np.array([7, delta_row, 3])
    vectors = index._vectors(rows)
    assert np.array_equal(vectors[0], index.base.vectors[7]) and np.array_equal(vectors[2], index.base.vectors[3])
    assert np.allclose(vectors[1], np.ones(si.DIMENSION) / np.sqrt(si.DIMENSION))
