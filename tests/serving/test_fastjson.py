"""Request bodies parse to exactly what the standard library's strict parser gives (or the same
422), whichever parser ran; answers and log lines encode what json encodes."""

from __future__ import annotations

import json

import pytest
from fastapi import HTTPException

from serving.fastjson import dumps
from serving.http import _strict_loads, parse_json

RECORD = {"size": 1.5, "colour": "red"}


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(RECORD).encode(),
        json.dumps([RECORD] * 100).encode(),
        b'{"size": 1, "size": 2}',
        json.dumps([RECORD] * 99).encode()[:-1] + b',{"size":1,"colour":"a","size":2}]',
        b'{"a": {"b": 1, "b": 2}}',
        b'[{"a": [{"b": 1, "b": 2}]}]',
        b'{"colour": "12:30", "size": 1}',
        b'{"size": 123456789012345678901234567890}',
        b'{"size": -9223372036854775809}',
        b'{"size": 1e400}',
        b'{"size": NaN}',
        b'{"size": Infinity}',
        b'\xef\xbb\xbf{"size": 1}',
        json.dumps({"size": 1}).encode("utf-16"),
        b'{"colour": "\\ud800"}',
        b'{"size": 1',
        b"[" * 2000 + b"]" * 2000,
        b'{"a":' + b"[" * 900 + b"]" * 900 + b"}",  # deep for Python, within orjson's 1024 levels
        b"[" * 900 + b"]" * 900,
        b"\xff",
        b"",
    ],
    ids=["record", "batch", "duplicate-key", "duplicate-key-in-a-batch", "duplicate-nested", "duplicate-deeper",
         "colon-in-a-string", "integer-past-64-bits", "integer-below-int64", "past-float64", "nan", "infinity",
         "bom", "utf-16", "lone-surrogate", "cut-short", "too-deep", "deep-object", "deep-list", "not-utf-8", "empty"],
)
def test_a_body_parses_as_the_strict_standard_parser_parses_it(body: bytes) -> None:
    try:
        expected = _strict_loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        with pytest.raises(HTTPException) as raised:
            parse_json(body)
        assert raised.value.status_code == 422
        assert raised.value.detail[0]["msg"] == f"invalid JSON: {exc}"
        return
    found = parse_json(body)
    assert found == expected
    assert json.dumps(found) == json.dumps(expected)  # same types too: 10**29 stays an int, 1e400 a float


@pytest.mark.parametrize(
    "content",
    [{"predictions": [1, 0.1, "a", None, True]}, {"predictions": [10**30]}, {1: "a"}, {"x": "é"}],
    ids=["plain", "integer-past-64-bits", "int-key", "non-ascii"],
)
def test_an_answer_encodes_as_json_would(content) -> None:
    assert json.loads(dumps(content)) == json.loads(json.dumps(content))


@pytest.mark.parametrize("offset", range(0, 40, 3))
def test_a_long_integer_across_the_scanned_slices_is_still_found(monkeypatch, offset: int) -> None:
    from serving import fastjson

    monkeypatch.setattr(fastjson, "SCAN_BYTES", 32)
    padding = b" " * offset
    body = b'{"size": ' + padding + b"12345678901234567890123}"
    assert parse_json(body) == {"size": 12345678901234567890123}  # an int, as json reads it; orjson: a float
    assert parse_json(b'{"size": ' + padding + b"123456789012345678}") == {"size": 123456789012345678}
