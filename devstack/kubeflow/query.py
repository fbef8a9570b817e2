"""List queries as KFP's API server reads them: filter, sort_by, page tokens.

`filter` is a URL-encoded JSON `Filter` (backend/api/v2beta1/filter.proto):
``{"predicates": [{"operation": "EQUALS", "key": "state", "string_value": "FAILED"}]}``,
all predicates ANDed; timestamps compare as epoch seconds. The keys a run can
be filtered and sorted by are the server's API-to-model field map
(backend/src/apiserver/model/run.go, `runAPIToModelFieldMap`); anything else is
an InvalidArgument, which grpc-gateway sends as HTTP 400.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

TIME_KEYS = frozenset({"created_at", "finished_at", "scheduled_at"})
OPERATIONS = (
    "EQUALS",
    "NOT_EQUALS",
    "GREATER_THAN",
    "GREATER_THAN_EQUALS",
    "LESS_THAN",
    "LESS_THAN_EQUALS",
    "IN",
    "IS_SUBSTRING",
)
# filter.proto's enum numbers: a JSON client may send either form.
NUMBERS = {1: "EQUALS", 2: "NOT_EQUALS", 3: "GREATER_THAN", 5: "GREATER_THAN_EQUALS"}
NUMBERS |= {6: "LESS_THAN", 7: "LESS_THAN_EQUALS", 8: "IN", 9: "IS_SUBSTRING"}


class InvalidArgument(Exception):
    """A request the server refuses with code 3 (HTTP 400)."""


Fields = Mapping[str, Callable[[Any], Any]]


def _epoch(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    if isinstance(value, dict) and "seconds" in value:
        return float(value["seconds"])
    raise InvalidArgument(f"Invalid input error: cannot read {value!r} as a timestamp")


def _operand(predicate: dict[str, Any], key: str) -> Any:
    for name in ("string_value", "int_value", "long_value", "timestamp_value"):
        if name in predicate:
            value = predicate[name]
            return _epoch(value) if key in TIME_KEYS else value
    for name in ("string_values", "int_values", "long_values"):
        if name in predicate:
            values = predicate[name]
            if isinstance(values, dict):
                values = values.get("values", [])
            if not isinstance(values, list):
                raise InvalidArgument(f"Invalid input error: {name} must hold values")
            return [_epoch(v) if key in TIME_KEYS else v for v in values]
    raise InvalidArgument(f"Invalid input error: predicate on {key!r} has no value")


def parse_filter(text: str | None, fields: Fields) -> list[Callable[[Any], bool]]:
    """The filter's predicates as tests on an item; raises InvalidArgument."""
    if not text:
        return []
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"Invalid input error: filter is not JSON: {exc}") from None
    if not isinstance(body, dict) or set(body) - {"predicates"}:
        raise InvalidArgument("Invalid input error: unknown field in filter (expected predicates)")
    predicates = body.get("predicates") or []
    if not isinstance(predicates, list):
        raise InvalidArgument("Invalid input error: predicates must be a list")
    tests = []
    for predicate in predicates:
        if not isinstance(predicate, dict):
            raise InvalidArgument("Invalid input error: a predicate must be an object")
        if "op" in predicate or "predicate" in body:
            raise InvalidArgument('Invalid input error: unknown field "op" in Predicate')
        operation = predicate.get("operation")
        operation = NUMBERS.get(operation, operation) if isinstance(operation, int) else operation
        if operation not in OPERATIONS:
            raise InvalidArgument(f"Invalid input error: unknown operation {operation!r}")
        key = predicate.get("key")
        if key not in fields:
            raise InvalidArgument(f"Invalid input error: no support for filtering on {key!r}")
        tests.append(_test(operation, fields[key], _operand(predicate, key), key in TIME_KEYS))
    return tests


def _test(operation: str, read: Callable[[Any], Any], want: Any, timed: bool):
    def test(item: Any) -> bool:
        have = read(item)
        if timed:
            have = 0.0 if have is None else float(have)
        if operation == "IN":
            return have in (want if isinstance(want, list) else [want])
        if operation == "IS_SUBSTRING":
            return str(want) in str(have)
        if isinstance(want, list):
            raise InvalidArgument(f"Invalid input error: {operation} takes one value")
        if not timed and isinstance(have, int | float):
            want_value: Any = float(want)
        else:
            want_value = want if timed else str(want)
            have = have if timed else str(have)
        return {
            "EQUALS": have == want_value,
            "NOT_EQUALS": have != want_value,
            "GREATER_THAN": have > want_value,
            "GREATER_THAN_EQUALS": have >= want_value,
            "LESS_THAN": have < want_value,
            "LESS_THAN_EQUALS": have <= want_value,
        }[operation]

    return test


def sort_key(text: str | None, fields: Fields, default: str = "created_at"):
    """(key function, descending) from "field", "field asc" or "field desc"."""
    words = (text or default).split()
    if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
        raise InvalidArgument(f"Invalid input error: cannot sort by {text!r}")
    if words[0] not in fields:
        raise InvalidArgument(f"Invalid input error: no support for sorting by {words[0]!r}")
    read = fields[words[0]]
    return (lambda item: (read(item) is None, read(item) or 0)), words[-1] == "desc"


def encode_token(offset: int, query: str) -> str:
    raw = json.dumps({"offset": offset, "query": query}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_token(token: str, query: str) -> int:
    """The offset a page token names; it must come from the same query."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = int(data["offset"])
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument("Invalid input error: invalid page token") from None
    if data.get("query") != query:
        raise InvalidArgument("Invalid input error: page token of another query")
    return offset


def page(
    items: list[Any], page_size: str | None, page_token: str | None, query: str
) -> tuple[list[Any], str]:
    """One page of `items` and the next page's token ("" on the last page)."""
    try:
        size = int(page_size) if page_size else 20
    except ValueError:
        raise InvalidArgument(f"Invalid input error: page_size {page_size!r}") from None
    if size < 0:
        raise InvalidArgument("Invalid input error: page_size must be positive")
    size = size or 20
    start = decode_token(page_token, query) if page_token else 0
    chunk = items[start : start + size]
    following = encode_token(start + size, query) if start + size < len(items) else ""
    return chunk, following
