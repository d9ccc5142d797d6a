"""Answers to questions are JSON, decoded and checked, never run."""

from __future__ import annotations

import pytest

from qvl_agent.agent.rpa.ask import check_schema, decode_json, shape_schema
from qvl_agent.envs.errors import ActionParseError, ModelBehaviorError


@pytest.mark.parametrize("text, value", [
    ('{"pass": true}', {"pass": True}),
    ('```json\n[1, 2]\n```', [1, 2]),
    ('The rows are: [{"a": 1}] as requested.', [{"a": 1}]),
    ("true", True),
])
def test_decode_json_finds_the_value(text, value):
    assert decode_json(text) == value


def test_no_json_is_the_models_error():
    with pytest.raises(ActionParseError):
        decode_json("I think the total is 120")


def test_midscene_demand_shapes_become_schemas():
    schema = shape_schema("{invoice: string, total: number}[], every invoice row")
    assert schema == {"type": "array", "items": {"type": "object", "required": ["invoice", "total"],
                      "properties": {"invoice": {"type": "string"}, "total": {"type": "number"}}}}
    assert shape_schema("string[], the names") == {"type": "array", "items": {"type": "string"}}
    assert shape_schema("every invoice row of the table") is None  # plain words: any JSON
    check_schema([{"invoice": "A", "total": 1.5}], schema, "the answer")
    with pytest.raises(ModelBehaviorError, match="0/total"):
        check_schema([{"invoice": "A", "total": "1.5"}], schema, "the answer")
    with pytest.raises(ModelBehaviorError, match="'total' is a required property"):
        check_schema([{"invoice": "A"}], schema, "the answer")
