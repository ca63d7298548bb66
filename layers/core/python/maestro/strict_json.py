"""The platform's JSON rules, in one place for every body a client sends and every body the API answers.

- Nesting: at most MAX_DEPTH levels of arrays/objects, checked on the raw text BEFORE it is parsed (Python's json
  recurses per level: 10,000 levels raise RecursionError, which would be a 500).
- Finite numbers only: `NaN`, `Infinity`, `-Infinity` and literals that overflow to infinity (`1e309`) are refused;
  so are numbers DynamoDB cannot store (magnitude above 1e125 or non-zero below 1e-130, integers of more than 38
  digits), which would otherwise fail at the write.
- Answers never contain `NaN`/`Infinity` (not JSON; browsers refuse the whole body): a non-finite float left in
  an answer is written as null.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from maestro.domain.errors import InvalidInput

MAX_DEPTH = 32
MAX_MAGNITUDE = 1e125
MIN_MAGNITUDE = 1e-130
MAX_INTEGER_DIGITS = 38

# `\uD800`-`\uDFFF` escapes: only a pair is a character; a lone one parses into a str that cannot be encoded
# (DynamoDB, S3 and the answer would all fail on it).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")

# A JSON string (skipped whole, so brackets inside strings do not count) or one bracket.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class _Refused(ValueError):
    pass


def nesting_depth(raw: bytes) -> int:
    """The deepest array/object nesting of a JSON text (the text need not be valid JSON)."""
    depth = deepest = 0
    for match in _TOKEN.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:  # no need to read further
                    return deepest
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number JSON allows; numbers must be finite")


def _check_float(value: float) -> None:
    if not math.isfinite(value):
        raise _Refused(f"{value!r} is not a finite number")
    if abs(value) > MAX_MAGNITUDE or (value != 0 and abs(value) < MIN_MAGNITUDE):
        raise _Refused(f"{value!r} is outside the storable range (magnitude 1e-130 to 1e125)")


def _check_floats(value: Any) -> None:
    """Every float of a parsed text inside the rules. Checked after the C decoder has parsed the text rather than
    by a parse_float hook: a hook is a Python call per number (256 floats: 0.17 ms to parse instead of 0.08), this
    walk takes a list of floats in a few C-level passes. A literal beyond float's range parsed to infinity, so it
    is caught here too."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is float:
            _check_float(item)
        elif kind is list:
            floats = [x for x in item if type(x) is float]
            if floats:
                magnitudes = list(map(abs, floats))
                largest, smallest = max(magnitudes), min(magnitudes)
                if not largest <= MAX_MAGNITUDE:  # also true for infinity
                    _check_float(largest)
                if smallest < MIN_MAGNITUDE:
                    _check_float(min((m for m in magnitudes if m), default=0.0))
            if len(floats) != len(item):
                stack.extend(x for x in item if type(x) is list or type(x) is dict)
        elif kind is dict:
            stack.extend(item.values())


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(f"integers may have at most {MAX_INTEGER_DIGITS} digits")
    return int(text)


def is_finite_number(value: Any) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


def loads(raw: bytes | str, what: str = "request body") -> Any:
    """Parse a client's JSON under the rules above; InvalidInput (400) says which rule was broken."""
    data = raw.encode() if isinstance(raw, str) else raw
    # a text cannot nest deeper than it has brackets that open: the token scan only when there are more
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH and nesting_depth(data) > MAX_DEPTH:
        raise InvalidInput(f"{what} nests deeper than {MAX_DEPTH} levels", max_depth=MAX_DEPTH)
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_int=_bounded_int)
        _check_floats(value)
    except _Refused as exc:
        raise InvalidInput(f"{what} has a number the API does not accept: {exc}") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}") from None
    if _SURROGATE_ESCAPE.search(data) and not _encodable(value):
        raise InvalidInput(f"{what} has a lone surrogate escape (\\uD800-\\uDFFF) that is no character")
    return value


def _encodable(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_encodable(key) and _encodable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_encodable(item) for item in value)
    return True


def _finite_only(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite_only(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_only(item) for item in value]
    return value


def dumps(body: Any) -> str:
    """JSON for an answer: never NaN/Infinity (each becomes null); other values via str() as before."""
    try:
        return json.dumps(body, default=str, allow_nan=False)
    except ValueError:  # only non-finite floats make allow_nan=False fail: rare, so the walk is paid only then
        return json.dumps(_finite_only(body), default=str, allow_nan=False)
