"""Validation against the published OpenAPI spec (openai/openai-openapi, openapi.json).

data/openapi_responses.json.gz is the subset of ``components.schemas`` of openapi.json at commit
f85dbe2 reachable from Response, ResponseStreamEvent, CompactResource, ResponseItemList,
TokenCountsResource and Error, with descriptions, titles and examples dropped.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator

SPEC: dict[str, Any] = orjson.loads(gzip.decompress(
    (Path(__file__).parent / "data" / "openapi_responses.json.gz").read_bytes()))


def check(schema: str, body: Any) -> None:
    """Validate ``body`` against ``components/schemas/<schema>``; fail with the first errors."""
    validator = Draft202012Validator({"$ref": f"#/components/schemas/{schema}", **SPEC})
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]]
