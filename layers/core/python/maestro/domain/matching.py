"""Matching described work to the library: the reuse suggestion for a similarity, and its calibration.

Thresholds on the cosine similarity (MiniLM, unit vectors) of the best-matching part of the request:

| similarity | suggestion | calibrated as |
| --- | --- | --- |
| >= 0.49 | reuse as is | F1-optimal cut for grade-3 (exactly what was asked) pairs |
| >= 0.42 | adapt | F1-optimal cut for grade >= 2 (closely related) pairs |
| >= 0.35 | take as reference | F1-optimal cut for grade >= 1 (useful reference) pairs |
| below | build new | |

Calibrated on the labelled retrieval set (tests/data/retrieval: 274 queries x 382 artifacts, graded from the
generator's ground truth, not from any model); tests/integration/test_matching.py re-derives the cuts and
fails if these constants drift from them. Measured there: precision of "reuse as is" about 0.31 at recall 0.23
— a single sentence against an artifact's description is weak evidence, which is why matches also report
which parts of the request they matched.
"""

from __future__ import annotations

REUSE_AS_IS = 0.49
ADAPT = 0.42
REFERENCE = 0.35
THRESHOLDS = (("reuse_as_is", REUSE_AS_IS), ("adapt", ADAPT), ("take_as_reference", REFERENCE))
SPEC_PARTS = ("user_stories", "requirements", "data_entities", "endpoints")


def reuse_suggestion(similarity: float) -> str:
    for suggestion, threshold in THRESHOLDS:
        if similarity >= threshold:
            return suggestion
    return "build_new"


def best_threshold(positives: list[float], negatives: list[float]) -> float:
    """The cut (0.20..0.90, step 0.01) with the best F1 for telling positives from negatives."""
    best_f1, best_cut = -1.0, 0.0
    for step in range(20, 91):
        cut = step / 100
        tp = sum(1 for s in positives if s >= cut)
        fp = sum(1 for s in negatives if s >= cut)
        fn = len(positives) - tp
        precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        if f1 > best_f1:
            best_f1, best_cut = f1, cut
    return best_cut
