"""Issue 15's rules on their own (no AWS): the JSON rules, names, content types, throttling defaults and costs."""

import json

import pytest

from maestro import strict_json
from maestro.domain.artifact_versions import content_type_problem
from maestro.domain.errors import InvalidInput
from maestro.domain.request_costs import HEAVY_ROUTES, request_cost
from maestro.domain.text import name_problem
from maestro.http.requests import client_request_id, parse_if_match
from maestro.settings import Settings


@pytest.mark.parametrize(
    "raw",
    [
        b"[NaN]",
        b"[Infinity]",
        b"[-Infinity]",
        b"[1e309]",
        b"[1e200]",
        b"[1e-200]",
        b'{"a": {"b": 1e-140}}',  # a float as a value, not in a list
        b"[0.0, 0.5, 1e-131]",  # the smallest non-zero magnitude, beside a zero
        b'[1, "x", [2.5, -1e126]]',  # inside a nested list of mixed values
        b"[0.5, 1e400]",  # beyond float's range: parsed to infinity
        b"[1" + b"0" * 40 + b"]",
        b"[" * 33 + b"]" * 33,
        b'["\\ud800"]',
        b"[" * 10_000 + b"]" * 10_000,
    ],
)
def test_client_json_outside_the_rules_is_refused(raw):
    with pytest.raises(InvalidInput):
        strict_json.loads(raw)


def test_client_json_within_the_rules_parses():
    assert strict_json.loads(b"[" * 32 + b"]" * 32) is not None
    assert strict_json.loads(b"[0.0, -0.0, 1e-130, -1e125, 0.5]") == [0.0, -0.0, 1e-130, -1e125, 0.5]
    brackets_in_a_string = "[" * 40
    raw = '{"a": "' + brackets_in_a_string + '", "b": 1e16, "c": "\\ud83c\\udfb5"}'
    assert strict_json.loads(raw) == {
        "a": brackets_in_a_string,
        "b": 1e16,
        "c": "🎵",
    }


def test_answers_never_carry_non_finite_numbers():
    text = strict_json.dumps({"x": float("inf"), "y": [float("nan"), 1.5], "z": "Infinity"})
    assert json.loads(text, parse_constant=lambda name: pytest.fail(name)) == {
        "x": None,
        "y": [None, 1.5],
        "z": "Infinity",
    }


@pytest.mark.parametrize("name", ["a\x00b", "a\u202eb", "a\u200bb", "a\ufeff", "a\nb", "a\u2028b", "\ue000", "  "])
def test_names_with_hidden_characters_are_refused(name):
    assert name_problem(name)


@pytest.mark.parametrize("name", ["Müller & Søn", "数据管道", "نموذج", "🎵 pipeline", "a-b_c.d (v2)"])
def test_ordinary_names_pass(name):
    assert name_problem(name) is None


@pytest.mark.parametrize(
    "value", ["text/plain\r\nX-Evil: 1", "text/plain\n", 'text/plain; a="x\r\ny"', "text/plain;\n a=b"]
)
def test_content_types_with_line_breaks_are_refused(value):
    assert content_type_problem(value)


def test_content_types_with_parameters_pass():
    assert content_type_problem('text/csv; charset=utf-8; header="present"') is None


def test_if_match_and_request_ids():
    assert parse_if_match('W/"12"') == 12 and parse_if_match(None) is None
    for bad in ("9" * 4301, "²", "1" * 19, "-1", ""):
        with pytest.raises(InvalidInput):
            parse_if_match(bad)
    assert client_request_id("req-1:a.b_c") == "req-1:a.b_c"
    assert client_request_id("x" * 129) is None and client_request_id("a b") is None and client_request_id("-a") is None


def test_throttling_defaults_are_the_documented_ones():
    settings = Settings()
    assert (settings.throttle_window_seconds, settings.throttle_principal_units, settings.throttle_tenant_units) == (
        10,
        200,
        1000,
    )
    assert settings.throttle_heavy_cost == 10


def test_every_heavy_route_is_a_served_route():
    import app  # noqa: F401 - registers every route
    from maestro.http.routes import ROUTE_REGISTRY

    assert HEAVY_ROUTES <= set(ROUTE_REGISTRY)
    assert request_cost("POST", "/v1/match", 10) == 10 and request_cost("GET", "/v1/projects", 10) == 1
