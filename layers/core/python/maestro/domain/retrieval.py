"""Semantic retrieval over the artifact library: the text an artifact is embedded from (its record plus text
extracted from the content of its text-like versions), reciprocal rank fusion of rankings, cosine top-k over
embedding vectors, and the ranking metrics the retrieval evaluation reports (tests/integration/
test_retrieval_eval.py over tests/data/retrieval/).

Pure: no AWS, no model. numpy is imported inside the functions that compute on vectors, so importing this
module stays as cheap as the rest of the domain. Content is parsed, never executed (`ast` for Python, `json`
for notebooks and schemas).
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

# The embedded text is cut here. all-MiniLM-L6-v2 reads at most 256 word pieces (about 1,000-1,200 characters
# of English), so nothing past ~1,200 characters reaches the vector; the cap leaves room for token-dense text
# (identifiers, numbers) and bounds the tokenizer's work on large content. Fields go most identifying first.
ARTIFACT_TEXT_MAX_CHARS = 2_000
# The BM25 side of the search index reads more of the same extraction: every word counts there, but each one
# costs index memory (~8 bytes per distinct term per artifact), so 6,000 characters (~900 words) bound a 100k
# library's postings. Extracted content is cut to this budget; the embedded text takes its first part.
CONTENT_TEXT_MAX_CHARS = 6_000
SEARCH_TEXT_MAX_CHARS = CONTENT_TEXT_MAX_CHARS
MAX_CONTENT_BYTES = 2_000_000
# JSON nests deeper than any real schema only when built to hurt; the walk stops there.
MAX_SCHEMA_DEPTH = 32
RRF_K = 60  # Cormack, Clarke & Buettcher (2009): k = 60 is robust across collections

TYPE_WORDS = {
    "feature_pipeline": "feature pipeline",
    "model_template": "model template",
    "schema": "schema",
    "notebook": "notebook",
    "dataset": "dataset",
    "model": "model",
}

_WHITESPACE = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, ending on a word boundary when there is one in the last fifth."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    return head[:space] if space > limit * 4 // 5 else head


def _flatten_metadata(value: Any, prefix: str = "") -> Iterable[str]:
    """`key: value` pairs, nested keys joined with dots, keys sorted (the same metadata gives the same text)."""
    if isinstance(value, Mapping):
        for key in sorted(value, key=str):
            yield from _flatten_metadata(value[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, (list, tuple)):
        scalars = [str(v) for v in value if v is not None and not isinstance(v, (Mapping, list, tuple))]
        if scalars and prefix:
            yield f"{prefix}: {', '.join(scalars)}"
        for item in value:
            if isinstance(item, (Mapping, list, tuple)):
                yield from _flatten_metadata(item, prefix)
    elif value is not None and value != "" and prefix:
        yield f"{prefix}: {value}"


def artifact_text(artifact: Mapping[str, Any], content_text: str = "", max_chars: int = ARTIFACT_TEXT_MAX_CHARS) -> str:
    """The text an artifact is embedded from, one part per line: name; type in words ("feature pipeline");
    description; tags; metadata as sorted `key: value` pairs (nested keys dotted); then text extracted from its
    content. Whitespace inside each part is collapsed, empty parts are left out, and the whole is cut to
    `max_chars` (`ARTIFACT_TEXT_MAX_CHARS` for the embedding; the search index's BM25 side reads the same text
    cut to `SEARCH_TEXT_MAX_CHARS`). Deterministic: the same artifact and content always give the same text."""
    kind = str(artifact.get("type") or "")
    tags = [str(t) for t in artifact.get("tags") or [] if str(t).strip()]
    metadata = "; ".join(_squash(pair) for pair in _flatten_metadata(artifact.get("metadata") or {}))
    parts = [
        str(artifact.get("name") or ""),
        TYPE_WORDS.get(kind, kind.replace("_", " ")),
        str(artifact.get("description") or ""),
        f"tags: {', '.join(tags)}" if tags else "",
        f"metadata: {metadata}" if metadata else "",
        content_text or "",
    ]
    return _cut("\n".join(p for p in (_squash(part) for part in parts) if p), max_chars)


# ---------------------------------------------------------------- content extraction
def _cell_source(source: Any) -> str:
    # nbformat stores a cell's source as one string or as a list of lines (each keeping its newline).
    if isinstance(source, str):
        return source
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return ""


def notebook_text(ipynb_json: Mapping[str, Any]) -> str:
    """The sources of a notebook's markdown and code cells, in order, separated by blank lines. Outputs are left
    out (images, tables, tracebacks), as are raw cells. Reads nbformat 4 (`cells`) and 3 (`worksheets`)."""
    if not isinstance(ipynb_json, Mapping):
        return ""
    cells = ipynb_json.get("cells")
    if cells is None:  # nbformat 3: cells live in worksheets and code is under `input`
        cells = [
            c for ws in ipynb_json.get("worksheets") or [] if isinstance(ws, Mapping) for c in ws.get("cells") or []
        ]
    texts = []
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, Mapping) or cell.get("cell_type") not in ("markdown", "code"):
            continue
        text = _cell_source(cell.get("source", cell.get("input"))).strip()
        if text:
            texts.append(text)
    return "\n\n".join(texts)


def _described(path: str, node: Mapping[str, Any]) -> str:
    doc = node.get("description") or node.get("doc") or node.get("title")
    return f"{path}: {_squash(doc)}" if isinstance(doc, str) and doc.strip() else path


def _schema_lines(node: Any, path: str, depth: int, lines: list[str]) -> None:
    if depth > MAX_SCHEMA_DEPTH:
        return
    if isinstance(node, list):  # an Avro union, e.g. ["null", {"type": "record", ...}]
        for branch in node:
            _schema_lines(branch, path, depth + 1, lines)
        return
    if not isinstance(node, Mapping):
        return
    # JSON Schema: properties (nested objects recurse), array items, definitions and combinators.
    properties = node.get("properties")
    if isinstance(properties, Mapping):
        for name, child in properties.items():
            child_path = f"{path}.{name}" if path else str(name)
            lines.append(_described(child_path, child) if isinstance(child, Mapping) else child_path)
            _schema_lines(child, child_path, depth + 1, lines)
    for key in ("items", "additionalProperties", "values"):  # JSON Schema arrays/maps, Avro arrays/maps
        if isinstance(node.get(key), (Mapping, list)):
            _schema_lines(node[key], path, depth + 1, lines)
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            _schema_lines(node[key], path, depth + 1, lines)
    for key in ("$defs", "definitions"):
        if isinstance(node.get(key), Mapping):
            for name, child in node[key].items():
                _schema_lines(child, str(name), depth + 1, lines)
    # Avro records and the simple {fields: [{name, description, type}]} form.
    fields = node.get("fields")
    if isinstance(fields, list):
        for field in fields:
            if not isinstance(field, Mapping) or not isinstance(field.get("name"), str):
                continue
            child_path = f"{path}.{field['name']}" if path else field["name"]
            lines.append(_described(child_path, field))
            _schema_lines(field.get("type"), child_path, depth + 1, lines)
            if isinstance(field.get("fields"), list):  # the simple form nests fields directly
                _schema_lines({"fields": field["fields"]}, child_path, depth + 1, lines)
    if isinstance(node.get("type"), (Mapping, list)):  # Avro: {"type": {"type": "record", ...}}
        _schema_lines(node["type"], path, depth + 1, lines)


def schema_text(schema: Mapping[str, Any]) -> str:
    """Field names and descriptions of a schema, one per line as `path: description` (nested fields dotted,
    `path` alone when undocumented), after the schema's own title/name and description. Reads JSON Schema
    (properties, items, $defs/definitions, allOf/anyOf/oneOf), Avro (records, arrays, maps, unions; `doc`) and
    a simple {"fields": [{"name", "description", "type"}]} list. `$ref`s are not followed."""
    if not isinstance(schema, Mapping):
        return ""
    head = [
        _squash(str(schema[k]))
        for k in ("title", "name", "description", "doc")
        if isinstance(schema.get(k), str) and schema[k].strip()
    ]
    lines: list[str] = []
    _schema_lines(schema, "", 0, lines)
    return "\n".join(head + lines)


def _definitions(node: ast.AST, prefix: str, documented: list[str], names: list[str]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            qualified = f"{prefix}{child.name}"
            doc = ast.get_docstring(child, clean=True)
            if doc:
                documented.append(f"{qualified}: {doc}")
            else:
                names.append(qualified)
            _definitions(child, f"{qualified}.", documented, names)


_IDENTIFIER_LITERAL = re.compile(r"^[A-Za-z_][\w.\-]{1,63}$")
_PRAGMA_COMMENT = re.compile(r"^(!|-\*-|\s*(noqa|type:|pragma|fmt:|pylint:|isort:))", re.IGNORECASE)


def _python_comments(source: str) -> list[str]:
    import io
    import tokenize

    comments = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                text = token.string.lstrip("#").strip()
                if text and not _PRAGMA_COMMENT.match(text):
                    comments.append(text)
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass  # what was read before the error is kept
    return comments


def python_text(source: str) -> str:
    """What a Python file says about itself, most identifying first: the module docstring; `qualified.name:
    docstring` for documented classes and functions; the names of the undocumented ones; `imports:` the imported
    modules and names; `names:` module-level assignments and identifier-like string literals (column names such
    as 'promo_flag'); then the comments. Parsed with `ast` and `tokenize`, never imported or executed; source
    that does not parse gives ""."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # ValueError: null bytes; RecursionError/MemoryError: nesting built to exhaust the parser.
        return ""
    lines = [doc] if (doc := ast.get_docstring(tree, clean=True)) else []
    documented: list[str] = []
    undocumented: list[str] = []
    _definitions(tree, "", documented, undocumented)
    lines += documented
    if undocumented:
        lines.append("defines: " + ", ".join(undocumented))
    imports: list[str] = []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imports += [f"{node.module or ''}.{alias.name}".lstrip(".") for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _IDENTIFIER_LITERAL.match(node.value):
            names.append(node.value)
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    if imports:
        lines.append("imports: " + ", ".join(dict.fromkeys(imports)))
    if names:
        lines.append("names: " + ", ".join(dict.fromkeys(names)))
    lines += _python_comments(source)
    return "\n".join(lines)


def python_docstrings(source: str) -> str:
    """Kept for callers of the earlier extraction: the Python text (python_text)."""
    return python_text(source)


def csv_text(text: str) -> str:
    """`columns:` the header row of a CSV (or TSV) file, sniffed for its delimiter."""
    import csv

    head = text[:65_536].splitlines()
    if not head:
        return ""
    try:
        dialect = csv.Sniffer().sniff(head[0], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        header = next(csv.reader(head[:1], dialect))
    except (csv.Error, StopIteration):
        return ""
    columns = [c.strip() for c in header if c.strip()]
    return "columns: " + ", ".join(columns) if columns else ""


_NOTEBOOK_TYPES = {"application/x-ipynb+json"}
_SCHEMA_TYPES = {"application/schema+json", "application/vnd.apache.avro+json", "avro/json"}
_JSON_TYPES = {"application/json", "text/json"}
_PYTHON_TYPES = {"text/x-python", "text/x-script.python", "application/x-python-code", "text/python"}
_TEXT_TYPES = {"text/markdown", "text/x-markdown", "text/plain"}
_CSV_TYPES = {"text/csv", "text/tab-separated-values", "application/csv"}
_PARQUET_TYPES = {"application/vnd.apache.parquet", "application/x-parquet", "application/parquet"}
_EXTENSIONS = {
    ".ipynb": "notebook",
    ".avsc": "schema",
    ".json": "json",
    ".py": "python",
    ".md": "text",
    ".markdown": "text",
    ".txt": "text",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
}


def _content_kind(content_type: str, name: str) -> str | None:
    # The extension first: uploads often arrive as application/octet-stream whatever they hold.
    lowered = (name or "").casefold()
    for extension, kind in _EXTENSIONS.items():
        if lowered.endswith(extension):
            return kind
    media = (content_type or "").split(";")[0].strip().casefold()
    if media in _NOTEBOOK_TYPES:
        return "notebook"
    if media in _SCHEMA_TYPES:
        return "schema"
    if media in _JSON_TYPES:
        return "json"
    if media in _PYTHON_TYPES:
        return "python"
    if media in _TEXT_TYPES:
        return "text"
    if media in _CSV_TYPES:
        return "csv"
    if media in _PARQUET_TYPES:
        return "parquet"
    return None


def content_kind(content_type: str, name: str) -> str | None:
    """What extraction applies to a version's content (None: nothing is extracted from it)."""
    return _content_kind(content_type, name)


def _looks_like_schema(document: Mapping[str, Any]) -> bool:
    return (
        any(k in document for k in ("$schema", "properties", "fields", "$defs", "definitions"))
        or document.get("type") == "record"
    )


def extract_content_text(content_type: str, name: str, data: bytes, max_bytes: int = MAX_CONTENT_BYTES) -> str:
    """Searchable text from a version's content, chosen by file extension, else by media type: notebooks
    (.ipynb) give their markdown and code cells, schemas (.avsc, or .json holding a JSON Schema/Avro/fields
    document) their field names and descriptions, Python (.py) its names, imports, docstrings and comments
    (`python_text`), CSV/TSV its header's column names, Parquet its schema's column names (`data` may then be the
    file's footer alone), Markdown/text (.md, .txt) itself. Anything else (binaries, other JSON, content over
    `max_bytes`, content that does not parse) gives "". Whitespace is collapsed and the result cut to
    `CONTENT_TEXT_MAX_CHARS`; the same text feeds the BM25 index and, cut shorter, the embedding."""
    kind = _content_kind(content_type, name)
    if kind is None or len(data) > max_bytes:
        return ""
    if kind == "parquet":
        from maestro.domain.parquet_schema import parquet_column_names

        columns = parquet_column_names(data)
        return _cut("columns: " + ", ".join(columns), CONTENT_TEXT_MAX_CHARS) if columns else ""
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    if kind == "text":
        extracted = text
    elif kind == "python":
        extracted = python_text(text)
    elif kind == "csv":
        extracted = csv_text(text)
    else:
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            return ""
        if not isinstance(document, dict):
            return ""
        if kind == "notebook" or (kind == "json" and "cells" in document and "nbformat" in document):
            extracted = notebook_text(document)
        elif kind == "schema" or _looks_like_schema(document):
            extracted = schema_text(document)
        else:
            extracted = ""
    return _cut(_squash(extracted), CONTENT_TEXT_MAX_CHARS)


# ---------------------------------------------------------------- ranking
# Ranked ids are artifact ids or index rows; fusion only compares and hashes them.
RankedId = TypeVar("RankedId", str, int)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[RankedId]], k: int = RRF_K) -> list[tuple[RankedId, float]]:
    """Fuse rankings (ids, best first) by reciprocal rank: score(id) = sum over rankings of 1 / (k + rank), rank
    counted from 1; an id absent from a ranking gets nothing from it, a repeated id counts at its first place.
    Returns (id, score) pairs, highest score first; ties go to the better best rank, then to the smaller id."""
    if k < 0:
        raise ValueError("k must be >= 0")
    scores: dict[RankedId, float] = {}
    best: dict[RankedId, int] = {}
    for ranking in rankings:
        seen: set[RankedId] = set()
        for position, item in enumerate(ranking, start=1):
            if item in seen:
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + position)
            best[item] = min(best.get(item, position), position)
    return sorted(scores.items(), key=lambda pair: (-pair[1], best[pair[0]], pair[0]))


def cosine_top_k(query_vector: Any, matrix: Any, ids: Sequence[str], k: int) -> list[tuple[str, float]]:
    """The k rows of `matrix` most cosine-similar to `query_vector`, as (id, similarity) pairs, most similar
    first (ties in row order). Rows and query need not be unit length; a zero vector has similarity 0."""
    import numpy as np

    vectors = np.asarray(matrix, dtype=np.float32)
    query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
    if vectors.ndim != 2 or vectors.shape[0] != len(ids):
        raise ValueError(f"matrix has shape {vectors.shape}; expected ({len(ids)}, dimension)")
    if vectors.shape[0] and vectors.shape[1] != query.shape[0]:
        raise ValueError(f"query has dimension {query.shape[0]}, rows have {vectors.shape[1]}")
    k = min(k, len(ids))
    if k <= 0:
        return []
    norms = np.linalg.norm(vectors, axis=1) * float(np.linalg.norm(query))
    similarities = np.divide(vectors @ query, norms, out=np.zeros(len(ids), dtype=np.float32), where=norms > 0)
    order = np.argsort(-similarities, kind="stable")[:k]
    return [(ids[i], float(similarities[i])) for i in order]


# ---------------------------------------------------------------- evaluation metrics
def _first_k_distinct(ranked_ids: Iterable[str], k: int) -> list[str]:
    seen: list[str] = []
    for item in ranked_ids:
        if len(seen) >= k:
            break
        if item not in seen:
            seen.append(item)
    return seen


def ndcg_at_k(ranked_ids: Sequence[str], relevance: Mapping[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of the first k results: gain = the graded relevance (linear, as
    trec_eval), discount log2(rank + 1), divided by the DCG of the ideal ordering of every graded id in
    `relevance` (grades <= 0 count as not relevant). A repeated id counts once. 0.0 when nothing is relevant.
    Fewer than k results are not padded: the missing places simply gain nothing."""
    grades = sorted((g for g in relevance.values() if g > 0), reverse=True)[:k]
    ideal = sum(g / math.log2(rank + 1) for rank, g in enumerate(grades, start=1))
    if ideal == 0:
        return 0.0
    gained = sum(
        max(relevance.get(item, 0), 0) / math.log2(rank + 1)
        for rank, item in enumerate(_first_k_distinct(ranked_ids, k), start=1)
    )
    return gained / ideal


def recall_at_k(ranked_ids: Sequence[str], relevant: set[str] | frozenset[str], k: int = 10) -> float:
    """The share of `relevant` found in the first k results (a repeated id counts once); 0.0 when nothing is
    relevant. With more than k relevant ids the best possible value is k / len(relevant)."""
    if not relevant:
        return 0.0
    return len(set(_first_k_distinct(ranked_ids, k)) & set(relevant)) / len(relevant)
