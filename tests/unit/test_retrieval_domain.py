"""Semantic retrieval rules (maestro.domain.retrieval): the text an artifact is embedded from, the content it is
extracted from (parsed, never executed), reciprocal rank fusion, cosine top-k, and the metrics the retrieval
evaluation reports, each against hand-computed values."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from maestro.domain.retrieval import (
    ARTIFACT_TEXT_MAX_CHARS,
    CONTENT_TEXT_MAX_CHARS,
    artifact_text,
    cosine_top_k,
    csv_text,
    extract_content_text,
    ndcg_at_k,
    notebook_text,
    python_text,
    recall_at_k,
    reciprocal_rank_fusion,
    schema_text,
)

PROJECT_DIR = Path(__file__).resolve().parents[2]

CHURN_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": ["# Telco churn: exploration\n", "\n", "Why do postpaid subscribers leave?"],
        },
        {
            "cell_type": "code",
            "execution_count": 1,
            "metadata": {"tags": []},
            "source": ["import pandas as pd\n", 'frame = pd.read_parquet("s3://telco/subscribers.parquet")'],
            "outputs": [
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {
                        "image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk",
                        "text/plain": ["<Figure size 640x480 with 1 Axes>"],
                    },
                }
            ],
        },
        {"cell_type": "raw", "metadata": {}, "source": "RAW-EXPORT-DIRECTIVE"},
        {"cell_type": "markdown", "metadata": {}, "source": "## Tenure\nChurners cluster in the first 6 months."},
        {
            "cell_type": "code",
            "execution_count": 2,
            "metadata": {},
            "source": "",
            "outputs": [
                {"output_type": "error", "ename": "KeyError", "evalue": "'tenure'", "traceback": ["TRACEBACK"]}
            ],
        },
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}

FRAUD_JSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "card_authorisation",
    "description": "One card authorisation as scored by the fraud model.",
    "type": "object",
    "properties": {
        "transaction_id": {"type": "string", "description": "Authorisation id from the switch"},
        "merchant": {
            "type": "object",
            "description": "Where the card was used",
            "properties": {
                "mcc": {"type": "string", "description": "Merchant category code"},
                "address": {"type": "object", "properties": {"country": {"type": "string"}}},
            },
        },
        "line_items": {
            "type": "array",
            "items": {"type": "object", "properties": {"sku": {"type": "string", "description": "Stock keeping unit"}}},
        },
        "device": {"$ref": "#/$defs/device"},
    },
    "$defs": {
        "device": {
            "type": "object",
            "properties": {"fingerprint": {"type": "string", "description": "Browser fingerprint hash"}},
        }
    },
}

SENSOR_AVRO = {
    "type": "record",
    "name": "TurbineReading",
    "namespace": "com.acme.assets",
    "doc": "One SCADA reading of a wind turbine.",
    "fields": [
        {"name": "asset_id", "type": "string", "doc": "Turbine identifier"},
        {
            "name": "vibration",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "Vibration",
                    "fields": [{"name": "rms", "type": "double", "doc": "RMS vibration in mm/s"}],
                },
            ],
        },
        {
            "name": "alarms",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Alarm",
                    "fields": [{"name": "code", "type": "int", "doc": "Vendor alarm code"}],
                },
            },
        },
    ],
}

PIPELINE_SOURCE = '''"""Churn features for postpaid subscribers.

Reads the monthly usage table and writes one row per subscriber.
"""
import pandas as pd


def tenure_months(frame):
    """Months since the subscriber signed the contract."""
    return frame["tenure"]


def _undocumented(frame):
    return frame


class SupportFeatures:
    """Aggregates of support tickets."""

    def tickets_90d(self, frame):
        """Tickets opened in the last 90 days."""
        return frame

    async def refresh(self):
        """Reload the ticket export."""
'''


# ---------------------------------------------------------------- reciprocal rank fusion
def test_rrf_sums_reciprocal_ranks_hand_computed():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "d"]], k=60)
    expected = {"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 63 + 1 / 62, "d": 1 / 63}
    assert [item for item, _ in fused] == ["b", "c", "a", "d"]
    for item, score in fused:
        assert score == pytest.approx(expected[item])


def test_rrf_with_k_zero_is_the_plain_reciprocal_rank_sum():
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "d"]], k=0))
    assert fused == pytest.approx({"a": 1.0, "b": 1.5, "c": 1 / 3 + 1 / 2, "d": 1 / 3})


def test_rrf_ties_go_to_the_better_best_rank_then_the_smaller_id():
    assert [i for i, _ in reciprocal_rank_fusion([["y", "x"], ["x", "y"]])] == ["x", "y"]
    # z (rank 1 once, absent once) against w (rank 2 twice, for k=0: 1/2 + 1/2 = 1): equal scores, z ranked 1st.
    assert [i for i, _ in reciprocal_rank_fusion([["z", "w"], ["v", "w"]], k=0)][:3] == ["v", "z", "w"]


def test_rrf_counts_a_repeated_id_once_at_its_first_place():
    assert dict(reciprocal_rank_fusion([["a", "a", "b"]], k=0)) == pytest.approx({"a": 1.0, "b": 1 / 3})


def test_rrf_of_nothing_is_empty_and_a_negative_k_is_refused():
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], []]) == []
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], k=-1)


# ---------------------------------------------------------------- cosine top-k
def test_cosine_top_k_orders_by_cosine_not_dot_product():
    matrix = np.array([[1.0, 0.0], [0.0, 1.0], [10.0, 10.0], [0.0, 0.0]])
    top = cosine_top_k([1.0, 0.1], matrix, ["a", "b", "c", "zero"], k=3)
    assert [i for i, _ in top] == ["a", "c", "b"]  # c's dot product is the largest; its angle is not
    assert top[0][1] == pytest.approx(1 / math.sqrt(1.01))
    assert top[1][1] == pytest.approx(1.1 / (math.sqrt(2) * math.sqrt(1.01)), rel=1e-6)


def test_cosine_top_k_gives_zero_for_a_zero_vector_and_at_most_the_rows_it_has():
    top = cosine_top_k([0.0, 1.0], np.array([[0.0, 0.0], [0.0, 2.0]]), ["zero", "up"], k=10)
    assert top == [("up", pytest.approx(1.0)), ("zero", 0.0)]
    assert cosine_top_k([1.0, 0.0], np.array([[1.0, 0.0]]), ["a"], k=0) == []
    assert cosine_top_k([0.0, 0.0], np.array([[1.0, 0.0]]), ["a"], k=1) == [("a", 0.0)]


def test_cosine_top_k_refuses_mismatched_shapes():
    with pytest.raises(ValueError):
        cosine_top_k([1.0, 0.0], np.eye(2), ["only-one-id"], k=1)
    with pytest.raises(ValueError):
        cosine_top_k([1.0, 0.0, 0.0], np.eye(2), ["a", "b"], k=1)


# ---------------------------------------------------------------- metrics
def test_ndcg_uses_graded_gain_and_log2_discount_hand_computed():
    relevance = {"d1": 3, "d3": 2, "d4": 1}
    # DCG: 3/log2(2) + 0/log2(3) + 2/log2(4) = 3 + 1 = 4; ideal: 3/1 + 2/log2(3) + 1/log2(4).
    ideal = 3 + 2 / math.log2(3) + 0.5
    assert ndcg_at_k(["d1", "d2", "d3"], relevance) == pytest.approx(4 / ideal)
    assert ndcg_at_k(["d1", "d3", "d4"], relevance) == pytest.approx(1.0)
    assert ndcg_at_k(["d4", "d3", "d1"], relevance) == pytest.approx((1 + 2 / math.log2(3) + 3 / 2) / ideal)


def test_ndcg_with_fewer_results_than_k_does_not_pad_and_k_cuts_the_ideal():
    relevance = {"d1": 3, "d3": 2, "d4": 1}
    assert ndcg_at_k(["d1"], relevance, k=10) == pytest.approx(3 / (3 + 2 / math.log2(3) + 0.5))
    assert ndcg_at_k(["d3"], relevance, k=1) == pytest.approx(2 / 3)  # the ideal at k=1 is d1 alone
    assert ndcg_at_k([], relevance) == 0.0


def test_ndcg_is_zero_when_nothing_is_relevant_and_counts_a_repeat_once():
    assert ndcg_at_k(["a", "b"], {}) == 0.0
    assert ndcg_at_k(["a", "b"], {"a": 0, "b": -1}) == 0.0
    assert ndcg_at_k(["d1", "d1", "d1"], {"d1": 1, "d2": 1}) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_recall_counts_the_share_of_relevant_ids_in_the_first_k():
    relevant = {"a", "b", "c", "d"}
    assert recall_at_k(["a", "x", "b"], relevant) == 0.5
    assert recall_at_k(["a", "x", "b"], relevant, k=1) == 0.25
    assert recall_at_k(["a", "a", "a"], relevant) == 0.25
    assert recall_at_k([], relevant) == 0.0
    assert recall_at_k(["a"], set()) == 0.0


# ---------------------------------------------------------------- content extraction
def test_notebook_text_keeps_markdown_and_code_sources_and_drops_outputs_and_raw_cells():
    text = notebook_text(CHURN_NOTEBOOK)
    assert text == (
        "# Telco churn: exploration\n\nWhy do postpaid subscribers leave?\n\n"
        'import pandas as pd\nframe = pd.read_parquet("s3://telco/subscribers.parquet")\n\n'
        "## Tenure\nChurners cluster in the first 6 months."
    )
    assert "iVBOR" not in text and "TRACEBACK" not in text and "RAW-EXPORT" not in text


def test_notebook_text_reads_nbformat_3_worksheets_and_survives_junk():
    v3 = {
        "nbformat": 3,
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "markdown", "source": ["Load the data"]},
                    {"cell_type": "code", "input": ["df = load()\n", "df.head()"], "outputs": []},
                    {"cell_type": "heading", "source": "ignored"},
                ]
            }
        ],
    }
    assert notebook_text(v3) == "Load the data\n\ndf = load()\ndf.head()"
    assert notebook_text({"cells": "not a list"}) == ""
    assert notebook_text({"cells": [None, {"cell_type": "code", "source": 42}]}) == ""


def test_schema_text_walks_nested_json_schema_properties_items_and_defs():
    assert schema_text(FRAUD_JSON_SCHEMA).splitlines() == [
        "card_authorisation",
        "One card authorisation as scored by the fraud model.",
        "transaction_id: Authorisation id from the switch",
        "merchant: Where the card was used",
        "merchant.mcc: Merchant category code",
        "merchant.address",
        "merchant.address.country",
        "line_items",
        "line_items.sku: Stock keeping unit",
        "device",
        "device.fingerprint: Browser fingerprint hash",
    ]


def test_schema_text_reads_avro_records_unions_and_arrays():
    assert schema_text(SENSOR_AVRO).splitlines() == [
        "TurbineReading",
        "One SCADA reading of a wind turbine.",
        "asset_id: Turbine identifier",
        "vibration",
        "vibration.rms: RMS vibration in mm/s",
        "alarms",
        "alarms.code: Vendor alarm code",
    ]


def test_schema_text_reads_the_simple_fields_list_nested_and_stops_at_absurd_depth():
    simple = {
        "fields": [
            {
                "name": "customer",
                "description": "Who bought",
                "fields": [{"name": "segment", "description": "RFM segment", "type": "string"}],
            },
            {"name": "basket_value", "type": "number"},
            {"no": "name"},
        ]
    }
    assert schema_text(simple).splitlines() == ["customer: Who bought", "customer.segment: RFM segment", "basket_value"]
    deep: dict = {"type": "object", "properties": {}}
    node = deep
    for level in range(200):
        child = {"type": "object", "properties": {}}
        node["properties"][f"l{level}"] = child
        node = child
    assert 0 < len(schema_text(deep).splitlines()) < 200
    assert schema_text([]) == ""  # type: ignore[arg-type]


def test_python_text_reads_docstrings_names_imports_literals_and_comments_in_that_order():
    assert python_text(PIPELINE_SOURCE).splitlines() == [
        "Churn features for postpaid subscribers.",
        "",
        "Reads the monthly usage table and writes one row per subscriber.",
        "tenure_months: Months since the subscriber signed the contract.",
        "SupportFeatures: Aggregates of support tickets.",
        "SupportFeatures.tickets_90d: Tickets opened in the last 90 days.",
        "SupportFeatures.refresh: Reload the ticket export.",
        "defines: _undocumented",
        "imports: pandas",
        "names: tenure",
    ]


def test_python_text_finds_a_script_without_docstrings_by_its_names_imports_and_comments():
    script = (
        "#!/usr/bin/env python\n"
        "# -*- coding: utf-8 -*-\n"
        "from sklearn.ensemble import GradientBoostingClassifier\n"
        "import lightgbm as lgb  # noqa: F401\n"
        "LABEL_COLUMN = 'churned_next_month'\n"
        "# Fit a churn classifier on the monthly snapshot.\n"
        "class ChurnTrainer:\n"
        "    def fitModel(self, frame):\n"
        "        return frame[['tenure_months', 'monthly charges']]\n"
    )
    assert python_text(script).splitlines() == [
        "defines: ChurnTrainer, ChurnTrainer.fitModel",
        "imports: sklearn.ensemble.GradientBoostingClassifier, lightgbm",
        "names: churned_next_month, tenure_months, LABEL_COLUMN",
        "Fit a churn classifier on the monthly snapshot.",
    ]


def test_python_text_parses_hostile_source_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    hostile = (
        f'"""Innocent-looking feature pipeline."""\n'
        f"import os\n"
        f'os.system("touch {marker}")\n'
        f'open({str(marker)!r}, "w").write("ran at import")\n'
        f'def features(path=__import__("pathlib").Path({str(marker)!r}).touch()):\n'
        f'    """Computes features."""\n'
        f"class Meta(type):\n"
        f'    """Metaclass."""\n'
        f"    def __new__(mcs, *a):\n"
        f'        open({str(marker)!r}, "w")\n'
        f"class Model(metaclass=Meta):\n"
        f'    """Model."""\n'
        f"    x = exec(\"open({marker!s}, 'w')\")\n"
        f'if __name__ == "__main__":\n'
        f"    exit(1)\n"
    )
    text = python_text(hostile)
    assert text.splitlines()[:4] == [
        "Innocent-looking feature pipeline.",
        "features: Computes features.",
        "Meta: Metaclass.",
        "Model: Model.",
    ]
    assert not marker.exists()


def test_python_text_of_source_that_does_not_parse_is_empty():
    assert python_text("def broken(:\n    pass") == ""
    assert python_text("x = 1\x00") == ""
    assert python_text("(" * 10_000) == ""
    assert python_text("") == ""


def test_csv_and_parquet_datasets_give_their_column_names():
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from maestro.domain.parquet_schema import footer_length

    assert csv_text("customer_id;tenure_months;churned\n1;2;0\n") == "columns: customer_id, tenure_months, churned"
    assert extract_content_text("text/csv", "train.csv", b"a,b\n1,2\n") == "columns: a, b"
    buffer = io.BytesIO()
    pq.write_table(pa.table({"store_id": [1], "promo_flag": [True], "units_sold": [3.0]}), buffer)
    data = buffer.getvalue()
    expected = "columns: store_id, promo_flag, units_sold"
    assert extract_content_text("application/octet-stream", "sales.parquet", data) == expected
    # the embed function reads only the file's tail, where the footer holds the schema
    footer = data[-8 - footer_length(data[-8:]) :]
    assert extract_content_text("application/vnd.apache.parquet", "x", footer) == expected
    assert extract_content_text("application/octet-stream", "sales.parquet", b"PAR1 not a footer PAR1") == ""
    assert extract_content_text("application/octet-stream", "sales.parquet", data[:-1] + b"X") == ""


@pytest.mark.parametrize(
    "content_type, name, data, expected",
    [
        (
            "application/octet-stream",
            "churn_eda.ipynb",
            json.dumps(CHURN_NOTEBOOK).encode(),
            "# Telco churn: exploration Why do postpaid subscribers leave?",
        ),
        ("application/x-ipynb+json", "notebook", json.dumps(CHURN_NOTEBOOK).encode(), "# Telco churn: exploration"),
        (
            "application/json",
            "card_authorisation.json",
            json.dumps(FRAUD_JSON_SCHEMA).encode(),
            "card_authorisation One card authorisation",
        ),
        ("application/schema+json", "contract", json.dumps({"fields": [{"name": "a", "doc": "b"}]}).encode(), "a: b"),
        ("application/octet-stream", "turbine.avsc", json.dumps(SENSOR_AVRO).encode(), "TurbineReading One SCADA"),
        ("text/x-python; charset=utf-8", "features.py", PIPELINE_SOURCE.encode(), "Churn features for postpaid"),
        (
            "text/markdown",
            "README.md",
            "\ufeff# Data card\n\nOne row per  subscriber.\n".encode(),
            "# Data card One row per subscriber.",
        ),
        ("text/plain", "NOTES.TXT", b"free text notes", "free text notes"),
    ],
)
def test_extract_content_text_dispatches_by_extension_then_media_type(content_type, name, data, expected):
    assert extract_content_text(content_type, name, data).startswith(expected)


@pytest.mark.parametrize(
    "content_type, name, data",
    [
        ("application/octet-stream", "model.onnx", b"\x08\x07\x12\x04onnx"),
        ("application/octet-stream", "model.pkl", b"\x80\x04\x95cos\nsystem\n"),
        ("application/json", "predictions.json", b'[{"id": 1, "score": 0.3}]'),  # data, not a schema
        ("application/json", "config.json", b'{"learning_rate": 0.1}'),
        ("application/json", "broken.json", b'{"properties": '),
        ("application/json", "deep.json", b"[" * 100_000 + b"]" * 100_000),
        ("application/x-ipynb+json", "x.ipynb", b"not json"),
        ("", "", b"whatever"),
    ],
)
def test_extract_content_text_gives_nothing_for_binaries_data_and_broken_content(content_type, name, data):
    assert extract_content_text(content_type, name, data) == ""


def test_extract_content_text_skips_content_over_the_byte_limit_and_caps_what_it_returns():
    assert extract_content_text("text/plain", "a.txt", b"x" * 101, max_bytes=100) == ""
    long_text = ("word " * 5_000).encode()
    assert len(extract_content_text("text/plain", "a.txt", long_text)) <= CONTENT_TEXT_MAX_CHARS


# ---------------------------------------------------------------- the embedded text
ARTIFACT = {
    "id": "art-1",
    "name": "telco_churn_features",
    "type": "feature_pipeline",
    "description": "Daily Spark job that builds subscriber-level churn features.",
    "tags": ["churn", "crm"],
    "metadata": {
        "owner_team": "growth-analytics",
        "schedule": "daily",
        "lineage": {"source": "snowflake.usage"},
        "inputs": ["tenure", "charges"],
        "empty": None,
    },
    "impact_score": 70.0,
    "usage_count": 12,
    "updated_at": "2024-01-01T00:00:00Z",
    "deprecated": False,
}


def test_artifact_text_puts_name_type_words_description_tags_metadata_then_content():
    assert artifact_text(ARTIFACT, "Churn features for postpaid subscribers.") == (
        "telco_churn_features\n"
        "feature pipeline\n"
        "Daily Spark job that builds subscriber-level churn features.\n"
        "tags: churn, crm\n"
        "metadata: inputs: tenure, charges; lineage.source: snowflake.usage; owner_team: growth-analytics; "
        "schedule: daily\n"
        "Churn features for postpaid subscribers."
    )


def test_artifact_text_is_deterministic_whatever_the_metadata_order():
    shuffled = {**ARTIFACT, "metadata": dict(reversed(list(ARTIFACT["metadata"].items())))}
    assert artifact_text(shuffled) == artifact_text(ARTIFACT) == artifact_text(dict(ARTIFACT))
    # Scores, counts and dates are not what an artifact is about: they do not change its text.
    assert artifact_text({**ARTIFACT, "impact_score": 1.0, "usage_count": 999}) == artifact_text(ARTIFACT)


def test_artifact_text_leaves_out_empty_parts_and_is_capped():
    bare = artifact_text({"name": "x", "type": "model_template", "description": "", "tags": [], "metadata": {}})
    assert bare == "x\nmodel template"
    capped = artifact_text(ARTIFACT, "very long content " * 1_000)
    assert len(capped) <= ARTIFACT_TEXT_MAX_CHARS
    assert capped.startswith("telco_churn_features\nfeature pipeline\n")


def test_importing_the_retrieval_rules_does_not_import_numpy():
    probe = "import sys, maestro.domain.retrieval; print('numpy' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_DIR, capture_output=True, text=True, env={**os.environ}, check=True
    )
    assert result.stdout.strip() == "False"
