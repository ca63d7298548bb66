"""Retrieval evaluation: keyword, semantic and hybrid search over the labelled catalogue of tests/data/retrieval/
(built by its build.py; README.md there says how and with which biases), through the search index the API
searches (`maestro.domain.search_index.TenantIndex`, deprecated artifacts included):

- keyword: BM25 over the artifact's name, type, description, tags, metadata and extracted content;
- semantic: MiniLM vectors (maestro_embedding) of `artifact_text` with the same extracted content, ranked by
  cosine similarity to the query's vector;
- hybrid: the BM25/cosine blend with dense pseudo-relevance feedback (the API's hybrid), beside
- hybrid_rrf: reciprocal rank fusion of the BM25 and cosine top 100 (what hybrid was before, for comparison).

Reports mean nDCG@10 (graded) and recall@10 (of the grade >= 2 artifacts), overall and per query style, printed
and written to build/retrieval-eval.txt.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from statistics import mean

import pytest

from maestro.domain.retrieval import artifact_text, extract_content_text, ndcg_at_k, recall_at_k

PROJECT_DIR = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_DIR / "tests" / "data" / "retrieval"
REPORT = PROJECT_DIR / "build" / "retrieval-eval.txt"
K = 10
MODES = ("keyword", "semantic", "hybrid", "hybrid_rrf")
ARTIFACT_TYPES = {"feature_pipeline", "model_template", "schema", "notebook", "dataset", "model"}
# The stored artifact, as search sees it: the rest is the content (extracted) and the generator's ground truth.
RECORD_FIELDS = (
    "id",
    "name",
    "type",
    "description",
    "tags",
    "metadata",
    "impact_score",
    "usage_count",
    "updated_at",
    "deprecated",
)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _generator():
    name = "retrieval_catalogue_build"
    spec = importlib.util.spec_from_file_location(name, DATA_DIR / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


@pytest.fixture(scope="module")
def catalogue() -> list[dict]:
    return _jsonl(DATA_DIR / "catalogue.jsonl")


@pytest.fixture(scope="module")
def queries() -> list[dict]:
    return _jsonl(DATA_DIR / "queries.jsonl")


def test_the_data_is_what_the_documented_generator_builds():
    generator = _generator()
    catalogue, queries = generator.build()
    render = generator.render
    assert (DATA_DIR / "catalogue.jsonl").read_text() == render(catalogue), "run tests/data/retrieval/build.py"
    assert (DATA_DIR / "queries.jsonl").read_text() == render(queries), "run tests/data/retrieval/build.py"


def test_the_catalogue_and_queries_are_big_and_varied_enough(catalogue, queries):
    assert len(catalogue) >= 300
    assert {a["type"] for a in catalogue} == ARTIFACT_TYPES
    assert len({a["truth"]["domain"] for a in catalogue if a["truth"]["domain"]}) >= 20
    assert len(queries) >= 200
    ids = {a["id"] for a in catalogue}
    for query in queries:
        assert set(query["relevant"]) <= ids
        assert 3 in query["relevant"].values() and set(query["relevant"].values()) <= {1, 2, 3}
    styles = {q["style"] for q in queries}
    assert {"exact_name", "keyword", "paraphrase", "mixed"} <= styles


@pytest.fixture(scope="module")
def encoder():
    from maestro_embedding import Encoder, model_dir

    directory = model_dir()
    if not (directory / "model.onnx").exists():  # a fresh checkout: export it (cached in build/embedding-model)
        from infra.embedding_model import export_model

        directory = export_model().directory
    return Encoder.load(directory)


def _index(encoder, artifacts: list[dict]):
    """The artifacts in a search index as the embed function builds it: each one's record, the text extracted
    from its content, and the vector of its embedded text."""
    from maestro.domain.search_index import TenantIndex, make_doc

    extracted = []
    for artifact in artifacts:
        content = artifact.get("content")
        extracted.append(
            extract_content_text(content["content_type"], content["name"], content["text"].encode()) if content else ""
        )
    vectors = encoder.encode([artifact_text(a, text) for a, text in zip(artifacts, extracted, strict=True)])
    index = TenantIndex()
    for artifact, text, vector in zip(artifacts, extracted, vectors, strict=True):
        record = {field: artifact[field] for field in RECORD_FIELDS}
        index.upsert(make_doc(artifact["id"], record, text, vector, version_ms=1))
    index.compact()
    return encoder, index


@pytest.fixture(scope="module")
def search_index(catalogue, encoder):
    return _index(encoder, catalogue)


def _rankings(query: str, search_index) -> dict[str, list[str]]:
    from maestro.domain.search_index import IndexFilters

    encoder, index = search_index
    filters = IndexFilters(include_deprecated=True)
    query_vector = encoder.encode([query])[0]
    return {
        "keyword": index.keyword(query, filters, depth=K).ids,
        "semantic": index.semantic(query_vector, filters).ids,
        "hybrid": index.hybrid(query, query_vector, filters).ids,
        "hybrid_rrf": index.hybrid_rrf(query, query_vector, filters).ids,
    }


def _table(scores: dict[str, dict[str, list[tuple[float, float, float]]]], counts: dict[str, int]) -> str:
    """One row per query group: mean nDCG@10, recall@10 and P@1 (share of queries whose first result is
    graded 3) for each mode."""
    names = ("nDCG@10", "R@10", "P@1")
    lines = [
        f"{'':<19}{'':>5}" + "".join(f"{m:^27}" for m in MODES),
        f"{'queries':<19}{'n':>5}" + "".join(f"{n:>9}" for _ in MODES for n in names),
    ]
    for group, by_mode in scores.items():
        cells = "".join(f"{mean(s[i] for s in by_mode[m]):>9.3f}" for m in MODES for i in range(len(names)))
        lines.append(f"{group:<19}{counts[group]:>5}{cells}")
    return "\n".join(lines)


@pytest.mark.embedding
def test_hybrid_search_beats_keyword_search_on_the_labelled_catalogue(catalogue, queries, search_index):
    scores: dict[str, dict[str, list[tuple[float, float, float]]]] = {"all": {m: [] for m in MODES}}
    counts = {"all": len(queries)}
    keyword_found_nothing = 0
    for query in queries:
        relevance = query["relevant"]
        wanted = {i for i, grade in relevance.items() if grade >= 2}
        group = f"style={query['style']}"
        scores.setdefault(group, {m: [] for m in MODES})
        counts[group] = counts.get(group, 0) + 1
        rankings = _rankings(query["query"], search_index)
        keyword_found_nothing += not rankings["keyword"]
        for mode, ranked in rankings.items():
            figures = (
                ndcg_at_k(ranked, relevance, K),
                recall_at_k(ranked, wanted, K),
                float(bool(ranked) and relevance.get(ranked[0]) == 3),
            )
            scores["all"][mode].append(figures)
            scores[group][mode].append(figures)
    table = _table(scores, counts)
    header = (
        f"Retrieval evaluation: {len(catalogue)} artifacts, {len(queries)} labelled queries "
        f"(tests/data/retrieval). nDCG@{K} graded 1-3; R@{K} = recall of the grade >= 2 artifacts. "
        f"keyword = BM25 (the search index); hybrid = BM25/cosine blend + dense pseudo-relevance feedback; "
        f"hybrid_rrf = RRF (k=60) of the BM25 and cosine top 100. P@1 = first result graded 3.\n"
        f"keyword search returned nothing for {keyword_found_nothing} of {len(queries)} queries."
    )
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(f"{header}\n{table}\n")
    print(f"\n{header}\n{table}")

    overall = {m: mean(s[0] for s in scores["all"][m]) for m in MODES}
    assert len(queries) >= 200
    # issue 14's targets (the hand-written keyword search scored 0.18, RRF hybrid over it 0.56)
    assert overall["keyword"] >= 0.45
    assert overall["hybrid"] >= 0.65
    assert overall["hybrid"] > overall["keyword"] and overall["hybrid"] > overall["hybrid_rrf"]
    assert overall["semantic"] > 0.3


def _library_corpus():
    name = "retrieval_library_corpus"
    spec = importlib.util.spec_from_file_location(name, DATA_DIR / "library_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.embedding
@pytest.mark.timeout(1800)  # embeds ~660 modules: a minute on an idle machine
def test_hybrid_beats_bm25_on_python_library_modules_queried_by_their_documentation(encoder):
    """The second corpus (tests/data/retrieval/library_corpus.py): the standard library's and some installed
    libraries' modules, queried with the library reference's module synopses."""
    artifacts, queries = _library_corpus().corpus()
    index = _index(encoder, artifacts)
    scores = {m: [] for m in MODES}
    for query in queries:
        for mode, ranked in _rankings(query["query"], index).items():
            relevance = query["relevant"]
            scores[mode].append(
                (
                    ndcg_at_k(ranked, relevance, K),
                    recall_at_k(ranked, {i for i, g in relevance.items() if g >= 3}, K),
                    float(bool(ranked) and relevance.get(ranked[0]) == 3),
                )
            )
    table = _table({"all": scores}, {"all": len(queries)})
    header = (
        f"Library corpus: {len(artifacts)} Python modules (standard library + installed libraries), {len(queries)} "
        f"queries = the library reference's module synopses; grade 3 = the documented module, 1 = its package's "
        f"other modules. R@{K} = recall of the documented module."
    )
    (PROJECT_DIR / "build").mkdir(exist_ok=True)
    (PROJECT_DIR / "build" / "retrieval-eval-library.txt").write_text(f"{header}\n{table}\n")
    print(f"\n{header}\n{table}")
    overall = {m: mean(s[0] for s in scores[m]) for m in MODES}
    assert len(queries) >= 100
    assert overall["hybrid"] > overall["keyword"]
    assert overall["hybrid"] > overall["semantic"]
