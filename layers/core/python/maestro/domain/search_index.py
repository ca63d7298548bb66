"""A tenant's search index: one in-memory structure for keyword and semantic search over its artifacts.

- BM25 (Lucene variant, scored by `bm25s` on its numpy backend) over each artifact's search terms: name, type,
  description, tags, metadata and the text extracted from its content (`retrieval.extract_content_text`, the same
  extraction the embedding reads), identifiers split (`snake_case`, `camelCase`, dotted and dashed names), with
  the name and tags weighted by repetition (a BM25F approximation);
- the normalised embedding matrix (float32, one row per artifact with a vector);
- the columns filters and sorts read: type, tags, impact, usage, last change, deprecated.

Updates are log-structured: a *base* segment, built once (columnar numpy arrays), and a small *delta* of the
artifacts changed since, applied one change row at a time and scored with the base's statistics. `compact()`
folds the delta into a new base, and `to_snapshot()`/`from_snapshot()` write and read it as one object
(`np.savez`, no pickle). A change row is applied only when it is at least as new as what the index holds for that
artifact, so replaying changes (the overlap a refresh re-reads) is harmless.

Pure: no AWS. numpy and bm25s are imported at module load, so only search and the embed function import this.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from maestro.domain import retrieval

SNAPSHOT_FORMAT = 1
DIMENSION = 384
K1, B = 0.9, 0.4  # Anserini's BM25 defaults (bm25s: 1.5, 0.75); nDCG@10 on tests/data/retrieval moves < 0.01
# Field weights by repetition: a name word counts as NAME_WEIGHT occurrences (BM25F, Robertson et al. 2004).
NAME_WEIGHT, TAG_WEIGHT = 3, 2
TYPES = ("feature_pipeline", "model_template", "schema", "notebook", "dataset", "model")
_TYPE_CODE = {name: code for code, name in enumerate(TYPES)}
_OTHER_TYPE = 255
_STOPWORDS = frozenset(STOPWORDS_EN)

# ---------------------------------------------------------------- terms
_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # splits on `_`, `.`, `-`, `/`, spaces and punctuation
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_]+", re.UNICODE)


def _light_stem(word: str) -> str:
    """English plurals to their singular ("pipelines" -> "pipeline", "categories" -> "category"); words under
    five letters and those ending in -ss, -us, -is are left alone. Applied alike to documents and queries."""
    if len(word) < 5 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    return word[:-1]


def terms(text: str) -> list[str]:
    """The BM25 terms of a text: words split on separators and case changes (`promoFlag` -> promo, flag, and
    the joined `promoflag`; `support_tickets_90d` -> support, tickets, 90d), case-folded, plurals stemmed,
    English stopwords left out. Documents and queries go through the same function."""
    out: list[str] = []
    for word in _WORD.findall(text or ""):
        parts = _CAMEL_PART.findall(word) if not word.islower() and not word.isupper() else [word]
        if len(parts) > 1:
            out.append(_light_stem(word.casefold()))
        for part in parts:
            folded = part.casefold()
            if folded not in _STOPWORDS:
                out.append(_light_stem(folded))
    return out


def normalised_name(name: str) -> str:
    """A name as someone types it: case-folded words joined by single spaces (`rb-churn_XGB.v2` ->
    `rb churn xgb v2`); an exact-name query matches whatever separators either side used."""
    return " ".join(w.casefold() for w in _WORD.findall(name or ""))


def name_key(name: str) -> int:
    """A stable 63-bit key of the normalised name (process-independent, unlike hash())."""
    digest = hashlib.blake2b(normalised_name(name).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def _epoch_ms(value: Any) -> int:
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return 0


# ---------------------------------------------------------------- documents
@dataclass
class IndexDoc:
    """One artifact as the index holds it. `version_ms` orders changes to the same artifact."""

    artifact_id: str
    name: str
    type: str
    tags: tuple[str, ...]
    impact_score: float
    usage_count: int
    updated_ms: int
    deprecated: bool
    term_counts: Counter
    vector: Any | None
    version_ms: int

    @property
    def length(self) -> int:
        return sum(self.term_counts.values())


def document_terms(record: Mapping[str, Any], content_text: str = "") -> Counter:
    """The weighted BM25 terms of an artifact: its search text (`retrieval.artifact_text` cut to
    `SEARCH_TEXT_MAX_CHARS`: name, type in words, description, tags, metadata, content) plus the name's terms
    NAME_WEIGHT - 1 and the tags' TAG_WEIGHT - 1 more times."""
    text = retrieval.artifact_text(record, content_text, max_chars=retrieval.SEARCH_TEXT_MAX_CHARS)
    counts = Counter(terms(text))
    for term in terms(str(record.get("name") or "")):
        counts[term] += NAME_WEIGHT - 1
    for tag in record.get("tags") or []:
        for term in terms(str(tag)):
            counts[term] += TAG_WEIGHT - 1
    return counts


def make_doc(
    artifact_id: str,
    record: Mapping[str, Any],
    content_text: str,
    vector: Any | None,
    version_ms: int,
) -> IndexDoc:
    """An index document from an artifact's record fields (name, type, description, tags, metadata,
    impact_score, usage_count, updated_at, deprecated), its extracted content text and its vector (or None)."""
    impact = record.get("impact_score")
    return IndexDoc(
        artifact_id=artifact_id,
        name=str(record.get("name") or ""),
        type=str(record.get("type") or ""),
        tags=tuple(str(t) for t in record.get("tags") or ()),
        impact_score=float(impact) if impact is not None else 0.0,
        usage_count=int(record.get("usage_count") or 0),
        updated_ms=_epoch_ms(record.get("updated_at")),
        deprecated=bool(record.get("deprecated")),
        term_counts=document_terms(record, content_text),
        vector=None if vector is None else unit_rows(np.asarray(vector, dtype=np.float32).reshape(1, -1))[0],
        version_ms=int(version_ms),
    )


# ---------------------------------------------------------------- segments
def _lucene_idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    # bm25s.scoring._score_idf_lucene, vectorised: log(1 + (N - df + 0.5) / (df + 0.5))
    return np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)


@dataclass
class Stats:
    """The corpus statistics BM25 scores with: the document count, mean length and each term's df."""

    n_docs: int
    avg_len: float
    df: dict[str, int] | None = None  # only for terms outside the base vocabulary (a delta's new words)


class Segment:
    """Immutable columnar documents: term frequencies as a CSC matrix (term-major: for term t, the documents
    tf_doc[tf_indptr[t]:tf_indptr[t+1]] with counts tf_count[...]), the filter columns, the vectors."""

    def __init__(self, arrays: Mapping[str, np.ndarray], ids: list[str], vocab: list[str], tag_vocab: list[str]):
        self.ids = ids
        self.vocab = vocab
        self.tag_vocab = tag_vocab
        self.term_id = {t: i for i, t in enumerate(vocab)}
        self.tag_id = {t: i for i, t in enumerate(tag_vocab)}
        self.position = {artifact_id: row for row, artifact_id in enumerate(ids)}
        self.type_code = arrays["type_code"]
        self.impact = arrays["impact"]
        self.usage = arrays["usage"]
        self.updated_ms = arrays["updated_ms"]
        self.version_ms = arrays["version_ms"]
        self.deprecated = arrays["deprecated"]
        self.has_vector = arrays["has_vector"]
        self.name_key = arrays["name_key"]
        self.tag_indptr = arrays["tag_indptr"]
        self.tag_ids = arrays["tag_ids"]
        self.tf_indptr = arrays["tf_indptr"]
        self.tf_doc = arrays["tf_doc"]
        self.tf_count = arrays["tf_count"]
        self.doc_len = arrays["doc_len"]
        self.vectors = arrays["vectors"]
        self._bm25: bm25s.BM25 | None = None
        self._tag_rows: np.ndarray | None = None
        self._coarse: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def df(self) -> np.ndarray:
        return np.diff(self.tf_indptr)

    # -- building
    @classmethod
    def from_docs(cls, docs: Sequence[IndexDoc]) -> Segment:
        vocab: dict[str, int] = {}
        tag_vocab: dict[str, int] = {}
        rows, cols, counts, tag_ids, tag_counts = [], [], [], [], []
        for row, doc in enumerate(docs):
            for term, count in doc.term_counts.items():
                cols.append(vocab.setdefault(term, len(vocab)))
                rows.append(row)
                counts.append(count)
            folded = list(dict.fromkeys(t.casefold() for t in doc.tags))
            tag_ids += [tag_vocab.setdefault(t, len(tag_vocab)) for t in folded]
            tag_counts.append(len(folded))
        vectors = np.zeros((len(docs), DIMENSION), dtype=np.float32)
        for row, doc in enumerate(docs):
            if doc.vector is not None:
                vectors[row] = doc.vector
        arrays: dict[str, np.ndarray] = {
            "type_code": np.array([_TYPE_CODE.get(d.type, _OTHER_TYPE) for d in docs], dtype=np.uint8),
            "impact": np.array([d.impact_score for d in docs], dtype=np.float32),
            "usage": np.array([d.usage_count for d in docs], dtype=np.int64),
            "updated_ms": np.array([d.updated_ms for d in docs], dtype=np.int64),
            "version_ms": np.array([d.version_ms for d in docs], dtype=np.int64),
            "deprecated": np.array([d.deprecated for d in docs], dtype=bool),
            "has_vector": np.array([d.vector is not None for d in docs], dtype=bool),
            "name_key": np.array([name_key(d.name) for d in docs], dtype=np.int64),
            "tag_indptr": np.concatenate([[0], np.cumsum(tag_counts, dtype=np.int64)]).astype(np.int64),
            "tag_ids": np.array(tag_ids, dtype=np.int32),
            "doc_len": np.array([d.length for d in docs], dtype=np.int32),
            "vectors": vectors,
            **_csc(
                np.array(rows, dtype=np.int32),
                np.array(cols, dtype=np.int32),
                np.array(counts, dtype=np.int32),
                len(vocab),
            ),
        }
        return cls(arrays, [d.artifact_id for d in docs], list(vocab), list(tag_vocab))

    def merged_with(self, keep: np.ndarray, delta: Segment) -> Segment:
        """A new segment: this one's rows where `keep`, then every row of `delta` (numpy throughout)."""
        kept_rows = np.flatnonzero(keep)
        renumber = np.full(len(self), -1, dtype=np.int64)
        renumber[kept_rows] = np.arange(len(kept_rows))
        # postings of kept rows, then the delta's (its terms mapped into the union vocabulary)
        entry_term = np.repeat(np.arange(len(self.vocab), dtype=np.int64), self.df)
        alive = keep[self.tf_doc] if len(self.tf_doc) else np.zeros(0, dtype=bool)
        vocab = dict(self.term_id)
        delta_terms = np.array([vocab.setdefault(t, len(vocab)) for t in delta.vocab], dtype=np.int64)
        delta_entry_term = np.repeat(np.arange(len(delta.vocab), dtype=np.int64), delta.df)
        rows = np.concatenate([renumber[self.tf_doc[alive]], delta.tf_doc.astype(np.int64) + len(kept_rows)])
        cols = np.concatenate([entry_term[alive], delta_terms[delta_entry_term]])
        counts = np.concatenate([self.tf_count[alive], delta.tf_count])
        # drop terms no document holds any more, renumbering the rest
        used = np.unique(cols)
        col_map = np.full(len(vocab), -1, dtype=np.int64)
        col_map[used] = np.arange(len(used))
        union_vocab = list(vocab)
        tags = dict(self.tag_id)
        delta_tags = np.array([tags.setdefault(t, len(tags)) for t in delta.tag_vocab], dtype=np.int32)
        kept_tag_counts = np.diff(self.tag_indptr)[kept_rows]
        tag_mask = np.repeat(keep, np.diff(self.tag_indptr))
        tag_ids = np.concatenate([self.tag_ids[tag_mask], delta_tags[delta.tag_ids] if len(delta.tag_ids) else []])
        tag_counts = np.concatenate([kept_tag_counts, np.diff(delta.tag_indptr)])

        def both(name: str) -> np.ndarray:
            return np.concatenate([getattr(self, name)[kept_rows], getattr(delta, name)])

        arrays = {
            name: both(name)
            for name in (
                "type_code",
                "impact",
                "usage",
                "updated_ms",
                "version_ms",
                "deprecated",
                "has_vector",
                "name_key",
                "doc_len",
                "vectors",
            )
        }
        arrays["tag_indptr"] = np.concatenate([[0], np.cumsum(tag_counts)]).astype(np.int64)
        arrays["tag_ids"] = tag_ids.astype(np.int32)
        arrays.update(_csc(rows.astype(np.int32), col_map[cols].astype(np.int32), counts, len(used)))
        ids = [self.ids[r] for r in kept_rows] + delta.ids
        return Segment(arrays, ids, [union_vocab[c] for c in used], list(tags))

    # -- scoring
    def bm25(self, stats: Stats, base: Segment | None = None) -> bm25s.BM25:
        """A bm25s retriever over this segment, scored with `stats` (a delta segment uses its base's idf for
        the words the base knows, so the two segments' scores are comparable)."""
        if self._bm25 is None:
            df = self.df.astype(np.float64)
            if base is not None:
                known = np.array([base.term_id.get(t, -1) for t in self.vocab], dtype=np.int64)
                base_df = base.df
                df = np.where(known >= 0, base_df[np.maximum(known, 0)] if len(base_df) else 0, df)
            idf = _lucene_idf(df, max(stats.n_docs, 1))
            entry_term = np.repeat(np.arange(len(self.vocab)), self.df)
            lengths = self.doc_len[self.tf_doc].astype(np.float32)
            tf = self.tf_count.astype(np.float32)
            # bm25s.scoring._score_tfc_lucene: tf / (k1 * ((1 - b) + b * l_d / l_avg) + tf)
            tfc = tf / (K1 * ((1 - B) + B * lengths / max(stats.avg_len, 1e-9)) + tf)
            retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
            retriever.scores = {
                "data": (idf[entry_term] * tfc).astype(np.float32),
                "indices": self.tf_doc,
                "indptr": self.tf_indptr,
                "num_docs": len(self),
            }
            retriever.vocab_dict = self.term_id
            retriever.nonoccurrence_array = None
            self._bm25 = retriever
        return self._bm25

    def bm25_scores(self, query_terms: Sequence[str], stats: Stats, base: Segment | None = None) -> np.ndarray:
        ids = [self.term_id[t] for t in query_terms if t in self.term_id]
        if not ids or not len(self):
            return np.zeros(len(self), dtype=np.float32)
        return self.bm25(stats, base).get_scores_from_ids(ids)

    def coarse(self) -> tuple[np.ndarray, np.ndarray] | None:
        """For a large segment, its vectors projected on their top COARSE_DIMENSION principal directions (of the
        uncentred second moment, which keeps dot products best): (projection 384×k, reduced n×k). A pass over
        the reduced matrix reads a third of the bytes the full one does; None below COARSE_MIN_ROWS."""
        if len(self) < COARSE_MIN_ROWS:
            return None
        if self._coarse is None:
            with_vector = np.flatnonzero(self.has_vector)
            if len(with_vector) < COARSE_MIN_ROWS:
                return None
            sample = self.vectors[with_vector[np.linspace(0, len(with_vector) - 1, COARSE_SAMPLE).astype(np.int64)]]
            _, directions = np.linalg.eigh(sample.T.astype(np.float64) @ sample)
            projection = np.ascontiguousarray(directions[:, ::-1][:, :COARSE_DIMENSION], dtype=np.float32)
            self._coarse = projection, np.ascontiguousarray(self.vectors @ projection)
        return self._coarse

    def rows_with_tag(self, tag: str) -> np.ndarray:
        """A boolean mask of the rows carrying `tag` (case-insensitive)."""
        mask = np.zeros(len(self), dtype=bool)
        tag_id = self.tag_id.get(tag.casefold())
        if tag_id is None:
            return mask
        if self._tag_rows is None:
            self._tag_rows = np.repeat(np.arange(len(self)), np.diff(self.tag_indptr))
        mask[self._tag_rows[self.tag_ids == tag_id]] = True
        return mask

    # -- snapshot
    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "type_code": self.type_code,
            "impact": self.impact,
            "usage": self.usage,
            "updated_ms": self.updated_ms,
            "version_ms": self.version_ms,
            "deprecated": self.deprecated,
            "has_vector": self.has_vector,
            "name_key": self.name_key,
            "tag_indptr": self.tag_indptr,
            "tag_ids": self.tag_ids,
            "tf_indptr": self.tf_indptr,
            "tf_doc": self.tf_doc,
            "tf_count": self.tf_count,
            "doc_len": self.doc_len,
        }


def _csc(rows: np.ndarray, cols: np.ndarray, counts: np.ndarray, n_terms: int) -> dict[str, np.ndarray]:
    order = np.lexsort((rows, cols))  # by term, then document
    return {
        "tf_indptr": np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=n_terms))]).astype(np.int64),
        "tf_doc": rows[order].astype(np.int32),
        "tf_count": counts[order].astype(np.uint16 if not len(counts) or counts.max() < 65_536 else np.int32),
    }


def _empty_segment() -> Segment:
    return Segment.from_docs([])


def _blob(strings: Iterable[str]) -> np.ndarray:
    return np.frombuffer("\n".join(strings).encode(), dtype=np.uint8)


def _unblob(array: np.ndarray, count: int) -> list[str]:
    return array.tobytes().decode().split("\n") if count else []


# ---------------------------------------------------------------- queries
@dataclass(frozen=True)
class IndexFilters:
    type: str | None = None
    tags: Sequence[str] = ()
    min_impact_score: float | None = None
    include_deprecated: bool = False


@dataclass
class Ranked:
    """A ranked answer: the first `len(ids)` hits (ids best first, their scores, the modes that found each) of
    `total`, and how many admitted artifacts have no vector yet (semantic search cannot see them)."""

    ids: list[str]
    scores: list[float | None]
    found_by: list[list[str]]
    total: int
    not_embedded: int = 0
    admitted: int = 0  # how many artifacts the filters admit (semantic and hybrid answers)
    rows: list[int] = field(default_factory=list, repr=False)  # the hits' rows in the index that ranked them
    # per hit: the query is the artifact's name, so it is listed first whatever its score (the score stays the
    # mode's own figure: the ranking's EXACT_NAME_BONUS is never shown)
    name_match: list[bool] = field(default_factory=list)


RRF_DEPTH = 100  # each ranking's top entries that enter a reciprocal rank fusion
SEMANTIC_CANDIDATES = HYBRID_CANDIDATES = 100  # a semantic or hybrid answer is the top this many
# The hybrid blend, tuned on tests/data/retrieval and checked on a corpus nobody here wrote (benchmarks/
# retrieval_corpus.py): nDCG@10 0.54 with RRF, 0.62 with the blend alone, 0.66 with the feedback.
HYBRID_KEYWORD_WEIGHT = 0.5
PRF_DOCUMENTS, PRF_WEIGHT, PRF_POOL = 3, 0.5, 1_000
# Above COARSE_MIN_ROWS vectors a segment is first scored on COARSE_DIMENSION principal directions (fitted on
# COARSE_SAMPLE of its vectors) and only the best candidates exactly: at 100k artifacts the full cosine pass was
# ~80% of a hybrid query. Agreement with the exact ranking is measured in benchmarks/search.py.
COARSE_MIN_ROWS, COARSE_DIMENSION, COARSE_SAMPLE = 20_000, 128, 4_096
COARSE_RERANK = 10  # the exact re-scoring reads this many candidates per hit wanted (at least PRF_POOL)
EXACT_NAME_BONUS = 1e6  # keeps an exact-name match above every BM25 score
SORT_COLUMNS = {"recent": "updated_ms", "impact": "impact", "usage": "usage"}


@dataclass
class TenantIndex:
    """One tenant's index: a base segment (from the snapshot), and the changes applied since."""

    base: Segment = field(default_factory=_empty_segment)
    watermark_ms: int = 0  # the snapshot holds every change up to here (minus the writers' lag)
    generation: int = 0
    newest_ms: int = 0  # the newest change applied
    live: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    delta: dict[str, IndexDoc] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)  # artifact id -> version_ms of its removal
    _delta_segment: Segment | None = None
    _combined: dict[str, np.ndarray] | None = None

    def __post_init__(self) -> None:
        if len(self.live) != len(self.base):
            self.live = np.ones(len(self.base), dtype=bool)

    # -- changes
    @property
    def pending_changes(self) -> int:
        return len(self.delta) + len(self.removed)

    def version_of(self, artifact_id: str) -> int:
        """The `updated_ms` of the newest change the index holds for an artifact (-1: none)."""
        return self._version(artifact_id)

    def _version(self, artifact_id: str) -> int:
        if artifact_id in self.delta:
            return self.delta[artifact_id].version_ms
        if artifact_id in self.removed:
            return self.removed[artifact_id]
        row = self.base.position.get(artifact_id)
        return int(self.base.version_ms[row]) if row is not None else -1

    def _supersede(self, artifact_id: str) -> None:
        row = self.base.position.get(artifact_id)
        if row is not None:
            self.live[row] = False
        self._delta_segment = None
        self._combined = None

    def upsert(self, doc: IndexDoc) -> bool:
        """Apply a document unless the index holds this or a newer version of it (a re-read change); True when
        applied."""
        self.newest_ms = max(self.newest_ms, doc.version_ms)
        if doc.version_ms <= self._version(doc.artifact_id):
            return False
        self._supersede(doc.artifact_id)
        self.removed.pop(doc.artifact_id, None)
        self.delta[doc.artifact_id] = doc
        return True

    def remove(self, artifact_id: str, version_ms: int) -> bool:
        """Take an artifact out (deleted) unless the index holds this or a newer version of it; True when
        applied."""
        self.newest_ms = max(self.newest_ms, version_ms)
        if version_ms <= self._version(artifact_id):
            return False
        self._supersede(artifact_id)
        self.delta.pop(artifact_id, None)
        self.removed[artifact_id] = version_ms
        return True

    def delta_segment(self) -> Segment:
        if self._delta_segment is None:
            self._delta_segment = Segment.from_docs(list(self.delta.values()))
        return self._delta_segment

    def stats(self) -> Stats:
        n = len(self.base)
        return Stats(n_docs=n, avg_len=float(self.base.doc_len.mean()) if n else 1.0)

    def compact(self) -> None:
        """Fold the changes into a new base (BM25 statistics become exact again)."""
        delta = self.delta_segment()
        if not len(self.base):
            self.base = delta
        else:
            self.base = self.base.merged_with(self.live, delta)
        self.live = np.ones(len(self.base), dtype=bool)
        self.delta, self.removed = {}, {}
        self._delta_segment, self._combined = None, None

    @property
    def size(self) -> int:
        return int(self.live.sum()) + len(self.delta)

    # -- reading
    def _columns(self) -> dict[str, np.ndarray]:
        """Base and delta columns side by side (rebuilt after a change; the vectors stay per segment)."""
        if self._combined is None:
            delta = self.delta_segment()
            columns = {
                name: np.concatenate([getattr(self.base, name), getattr(delta, name)])
                for name in ("type_code", "impact", "usage", "updated_ms", "deprecated", "has_vector", "name_key")
            }
            columns["live"] = np.concatenate([self.live, np.ones(len(delta), dtype=bool)])
            self._combined = columns
        return self._combined

    def _id(self, row: int) -> str:
        base = len(self.base)
        return self.base.ids[row] if row < base else self.delta_segment().ids[row - base]

    def admitted(self, filters: IndexFilters) -> np.ndarray:
        columns = self._columns()
        mask = columns["live"].copy()
        if filters.type:
            mask &= columns["type_code"] == _TYPE_CODE.get(filters.type, _OTHER_TYPE)
        for tag in filters.tags:
            mask &= np.concatenate([self.base.rows_with_tag(tag), self.delta_segment().rows_with_tag(tag)])
        if filters.min_impact_score is not None:
            mask &= columns["impact"] >= filters.min_impact_score
        if not filters.include_deprecated:
            mask &= ~columns["deprecated"]
        return mask

    def bm25_scores(self, query: str) -> np.ndarray:
        query_terms = list(dict.fromkeys(terms(query)))
        stats = self.stats()
        delta = self.delta_segment()
        if not len(self.base):  # no base yet: the delta is the corpus
            stats = Stats(n_docs=len(delta), avg_len=float(delta.doc_len.mean()) if len(delta) else 1.0)
            return delta.bm25_scores(query_terms, stats)
        return np.concatenate(
            [self.base.bm25_scores(query_terms, stats), delta.bm25_scores(query_terms, stats, base=self.base)]
        )

    @staticmethod
    def _unit(query_vector: Any) -> np.ndarray:
        query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(query))
        return query / norm if norm else query

    def cosine_scores(self, query_vector: Any) -> tuple[np.ndarray, bool]:
        """Every row's cosine to the query, and whether the base's are approximate (its coarse projection: exact
        scores for chosen rows come from `exact_cosine`). The delta is always scored exactly."""
        query = self._unit(query_vector)
        coarse = self.base.coarse()
        base_scores = self.base.vectors @ query if coarse is None else coarse[1] @ (query @ coarse[0])
        return np.concatenate([base_scores, self.delta_segment().vectors @ query]), coarse is not None

    def exact_cosine(self, rows: np.ndarray, query_vector: Any) -> np.ndarray:
        return self._vectors(rows) @ self._unit(query_vector)

    def _semantic_top(
        self, query_vector: Any, eligible: np.ndarray, depth: int, scored: tuple[np.ndarray, bool] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `depth` eligible rows most cosine-similar to the query, and every row's cosine (exact for the
        rows returned; at scale, candidates chosen on the coarse projection are re-scored exactly). `scored`:
        `cosine_scores`' answer when the caller has it already (re-scored rows are updated in place)."""
        impact = self._columns()["impact"]
        scores, approximate = scored or self.cosine_scores(query_vector)
        if approximate:
            candidates = self._top(scores, eligible, max(depth * COARSE_RERANK, PRF_POOL), impact)
            scores[candidates] = self.exact_cosine(candidates, query_vector)
            eligible = np.zeros_like(eligible)
            eligible[candidates] = True
        return self._top(scores, eligible, depth, impact), scores

    def exact_name_rows(self, query: str, admitted: np.ndarray) -> np.ndarray:
        if not normalised_name(query):
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero((self._columns()["name_key"] == name_key(query)) & admitted)

    def _top(self, primary: np.ndarray, eligible: np.ndarray, depth: int, secondary: np.ndarray) -> np.ndarray:
        """The `depth` best eligible rows by primary, then secondary, descending (ties: the earlier row)."""
        rows = np.flatnonzero(eligible)
        if len(rows) > depth:
            # everything tied with the depth-th value stays in, so the tie-break below sees all of them
            cut = np.partition(-primary[rows], depth - 1)[depth - 1]
            rows = rows[-primary[rows] <= cut]
        order = np.lexsort((rows, -secondary[rows].astype(np.float64), -primary[rows].astype(np.float64)))
        return rows[order][:depth]

    def _ranked(
        self, rows: np.ndarray, scores: np.ndarray | None, modes: list[str], total: int, exact: Any = (), **extra
    ) -> Ranked:
        exact = set(np.asarray(exact).tolist())
        return Ranked(
            [self._id(int(r)) for r in rows],
            [round(float(scores[r]), 6) for r in rows] if scores is not None else [None] * len(rows),
            [modes] * len(rows),
            total,
            rows=rows.tolist(),
            name_match=[int(r) in exact for r in rows],
            **extra,
        )

    def keyword(self, query: str, filters: IndexFilters, depth: int, sort: str = "relevance") -> Ranked:
        """The admitted artifacts sharing a word with the query, by BM25 (not every word need match), an exact
        name match first; the first `depth` of them ordered, `total` counting all."""
        admitted = self.admitted(filters)
        scores = self.bm25_scores(query)
        exact = self.exact_name_rows(query, admitted)
        ranking = scores.copy()
        ranking[exact] += EXACT_NAME_BONUS
        matched = admitted & (ranking > 0)
        columns = self._columns()
        if sort == "relevance":
            rows = self._top(ranking, matched, depth, columns["impact"])
        else:
            rows = self._top(columns[SORT_COLUMNS[sort]], matched, depth, ranking)
        return self._ranked(rows, scores, ["keyword"], int(matched.sum()), exact)

    def semantic(self, query_vector: Any, filters: IndexFilters, depth: int = SEMANTIC_CANDIDATES) -> Ranked:
        """The `depth` admitted artifacts most cosine-similar to the query vector."""
        admitted = self.admitted(filters)
        has_vector = self._columns()["has_vector"]
        rows, scores = self._semantic_top(query_vector, admitted & has_vector, depth)
        return self._ranked(
            rows,
            scores,
            ["semantic"],
            len(rows),
            not_embedded=int((admitted & ~has_vector).sum()),
            admitted=int(admitted.sum()),
        )

    def query_weight(self, query: str) -> float:
        """The most BM25 can give the query: the sum of its distinct terms' idf (a word the corpus lacks counts
        at df = 0). Lucene's term-frequency part is below 1, so a BM25 score over this lies in [0, 1): the share
        of the query's information a document matches."""
        stats, segment = self.stats(), self.base
        if not len(self.base):
            segment = self.delta_segment()
            stats = Stats(n_docs=len(segment), avg_len=1.0)
        df = segment.df
        counts = [df[segment.term_id[t]] if t in segment.term_id else 0 for t in dict.fromkeys(terms(query))]
        return float(_lucene_idf(np.array(counts, dtype=np.float64), max(stats.n_docs, 1)).sum()) if counts else 0.0

    def hybrid(self, query: str, query_vector: Any, filters: IndexFilters, depth: int = HYBRID_CANDIDATES) -> Ranked:
        """BM25 and cosine similarity blended (HYBRID_KEYWORD_WEIGHT on the BM25 score over its maximum for the
        query, the rest on the cosine), plus dense pseudo-relevance feedback: the cosine to the mean vector of
        the blend's top PRF_DOCUMENTS, weighted PRF_WEIGHT (Rocchio). The top `depth`; an exact name first.
        Measured against reciprocal rank fusion in tests/integration/test_retrieval_eval.py."""
        admitted = self.admitted(filters)
        columns = self._columns()
        bm25 = self.bm25_scores(query)
        weight = self.query_weight(query)
        cosine, approximate = self.cosine_scores(query_vector)
        keyword_part = HYBRID_KEYWORD_WEIGHT * (bm25 / weight if weight else bm25)
        blend = keyword_part + (1 - HYBRID_KEYWORD_WEIGHT) * cosine
        found = admitted & ((bm25 > 0) | columns["has_vector"])
        # the feedback re-scores the blend's best PRF_POOL rows only: one more pass over 1,000 vectors, not all
        pool = self._top(blend, found, PRF_POOL, columns["impact"])
        if approximate and len(pool):  # the pool's blend on exact cosines, and the pool re-ordered by it
            cosine[pool] = self.exact_cosine(pool, query_vector)
            blend[pool] = keyword_part[pool] + (1 - HYBRID_KEYWORD_WEIGHT) * cosine[pool]
            pool = pool[
                np.lexsort((pool, -columns["impact"][pool].astype(np.float64), -blend[pool].astype(np.float64)))
            ]
        if len(pool):
            centroid = self._vectors(pool[:PRF_DOCUMENTS]).mean(axis=0)
            norm = float(np.linalg.norm(centroid))
            blend[pool] += PRF_WEIGHT * (self._vectors(pool) @ (centroid / norm if norm else centroid))
            found = np.zeros_like(found)
            found[pool] = True
        exact = self.exact_name_rows(query, admitted)
        ranking = blend.copy()
        ranking[exact] += EXACT_NAME_BONUS
        found[exact] = True
        rows = self._top(ranking, found, depth, columns["impact"])
        named = set(exact.tolist())
        semantic_top = self._semantic_top(query_vector, admitted & columns["has_vector"], depth, (cosine, approximate))
        semantic_rows = set(semantic_top[0].tolist())
        return Ranked(
            [self._id(int(r)) for r in rows],
            [round(float(blend[r]), 6) for r in rows],
            [[m for m, hit in (("keyword", bm25[r] > 0), ("semantic", int(r) in semantic_rows)) if hit] for r in rows],
            len(rows),
            not_embedded=int((admitted & ~columns["has_vector"]).sum()),
            admitted=int(admitted.sum()),
            rows=rows.tolist(),
            name_match=[int(r) in named for r in rows],
        )

    def hybrid_rrf(self, query: str, query_vector: Any, filters: IndexFilters, depth: int = RRF_DEPTH) -> Ranked:
        """Reciprocal rank fusion of the BM25 and the cosine top `depth` (the fusion `hybrid` is measured
        against); an exact name match stays first."""
        admitted = self.admitted(filters)
        columns = self._columns()
        bm25 = self.bm25_scores(query)
        keyword_rows = self._top(bm25, admitted & (bm25 > 0), depth, columns["impact"])
        semantic_rows, _ = self._semantic_top(query_vector, admitted & columns["has_vector"], depth)
        fused = retrieval.reciprocal_rank_fusion([keyword_rows.tolist(), semantic_rows.tolist()])
        exact = set(self.exact_name_rows(query, admitted).tolist())
        if exact:
            fused.sort(key=lambda pair: pair[0] not in exact)  # stable: the fused order otherwise
        keyword_set, semantic_set = set(keyword_rows.tolist()), set(semantic_rows.tolist())
        return Ranked(
            [self._id(r) for r, _ in fused],
            [round(s, 6) for _, s in fused],
            [[m for m, rows in (("keyword", keyword_set), ("semantic", semantic_set)) if r in rows] for r, _ in fused],
            len(fused),
            not_embedded=int((admitted & ~columns["has_vector"]).sum()),
            rows=[r for r, _ in fused],
            name_match=[r in exact for r, _ in fused],
        )

    def filtered(self, filters: IndexFilters, sort: str, depth: int) -> Ranked:
        """The admitted artifacts by a sort key (recent, impact or usage) descending: the first `depth` ordered,
        `total` counting all."""
        columns = self._columns()
        admitted = self.admitted(filters)
        rows = self._top(columns[SORT_COLUMNS[sort]], admitted, depth, columns["impact"])
        return self._ranked(rows, None, [], int(admitted.sum()))

    def resorted(self, ranked: Ranked, sort: str) -> Ranked:
        """A ranked answer reordered by a sort key (recent, impact or usage), its score breaking ties."""
        if sort == "relevance" or not ranked.ids:
            return ranked
        column = self._columns()[SORT_COLUMNS[sort]]
        order = sorted(
            range(len(ranked.ids)),
            key=lambda i: (float(column[ranked.rows[i]]), ranked.scores[i] or 0),
            reverse=True,
        )
        return Ranked(
            [ranked.ids[i] for i in order],
            [ranked.scores[i] for i in order],
            [ranked.found_by[i] for i in order],
            ranked.total,
            ranked.not_embedded,
            ranked.admitted,
            [ranked.rows[i] for i in order],
            [ranked.name_match[i] for i in order] if ranked.name_match else [],
        )

    def _vectors(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of some rows, in their order, without copying the whole matrix."""
        rows = np.asarray(rows, dtype=np.int64)
        in_base = rows < len(self.base)
        vectors = np.empty((len(rows), DIMENSION), dtype=np.float32)
        vectors[in_base] = self.base.vectors[rows[in_base]]
        vectors[~in_base] = self.delta_segment().vectors[rows[~in_base] - len(self.base)]
        return vectors

    def vector_matrix(self) -> tuple[list[str], np.ndarray]:
        """The live artifacts that have a vector, and their (n, 384) unit-length matrix."""
        rows = np.flatnonzero(self._columns()["live"] & self._columns()["has_vector"])
        return [self._id(int(r)) for r in rows], self._vectors(rows)

    # -- snapshot
    def to_snapshot(self) -> bytes:
        """The whole index (changes folded in) as one object: numpy arrays, vectors as float16."""
        self.compact()
        base = self.base
        header = {
            "format": SNAPSHOT_FORMAT,
            "watermark_ms": self.watermark_ms,
            "newest_ms": self.newest_ms,
            "generation": self.generation,
            "documents": len(base),
            "terms": len(base.vocab),
            "tags": len(base.tag_vocab),
        }
        buffer = io.BytesIO()
        np.savez(
            buffer,
            header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            ids=_blob(base.ids),
            vocab=_blob(base.vocab),
            tag_vocab=_blob(base.tag_vocab),
            vectors=base.vectors.astype(np.float16),
            **base.arrays(),  # type: ignore[arg-type]  # mypy reads ** as possibly filling allow_pickle
        )
        return buffer.getvalue()

    @classmethod
    def from_snapshot(cls, data: bytes) -> TenantIndex:
        """An index from `to_snapshot`'s bytes; ValueError when they are not a readable snapshot of this format
        (the zip's CRCs catch a damaged object)."""
        import zipfile

        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as stored:
                header = json.loads(stored["header"].tobytes())
                arrays = {name: stored[name] for name in stored.files}
        except (zipfile.BadZipFile, KeyError, OSError, EOFError) as error:
            raise ValueError(f"not a search-index snapshot ({type(error).__name__})") from None
        if header.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"snapshot format {header.get('format')} is not {SNAPSHOT_FORMAT}")
        arrays["vectors"] = arrays["vectors"].astype(np.float32)
        segment = Segment(
            arrays,
            _unblob(arrays["ids"], header["documents"]),
            _unblob(arrays["vocab"], header["terms"]),
            _unblob(arrays["tag_vocab"], header["tags"]),
        )
        return cls(
            base=segment,
            watermark_ms=int(header["watermark_ms"]),
            generation=int(header["generation"]),
            newest_ms=int(header["newest_ms"]),
        )


def memory_bytes(index: TenantIndex) -> int:
    """The bytes the index's arrays hold (ids and vocabularies as Python strings excluded)."""
    base = index.base
    total = sum(a.nbytes for a in base.arrays().values()) + base.vectors.nbytes
    if base._bm25 is not None:
        total += base._bm25.scores["data"].nbytes
    return total


def unit_rows(matrix: Any) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
