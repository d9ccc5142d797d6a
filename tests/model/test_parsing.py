"""The parser against answers seen in the wild: a table, and arbitrary text."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qvl_agent.envs.errors import ActionParseError
from qvl_agent.model.parsing import ToolCall, parse_grounding, parse_tool_call, parse_tool_calls

CLICK = {"action": "click", "coordinate": [935, 406]}
CLICK_JSON = json.dumps({"name": "mobile_use", "arguments": CLICK})

# (answer, expected arguments) -- all must parse.
GOOD = [
    (f"<tool_call>\n{CLICK_JSON}\n</tool_call>", CLICK),
    (f"<tool_call>{CLICK_JSON}</tool_call>", CLICK),
    (f"I will tap the icon.\n<tool_call>\n{CLICK_JSON}\n</tool_call>", CLICK),
    (f"Thought: the Clock app is on the home screen.\nAction:\n<tool_call>\n{CLICK_JSON}\n</tool_call>", CLICK),
    (f"<tool_call>\n{CLICK_JSON}\n", CLICK),  # missing closing tag
    (f"<tool_call>\n{CLICK_JSON}", CLICK),
    (f"```json\n{CLICK_JSON}\n```", CLICK),
    (f"<tool_call>\n```json\n{CLICK_JSON}\n```\n</tool_call>", CLICK),
    (f"```\n{CLICK_JSON}\n```", CLICK),
    (CLICK_JSON, CLICK),  # bare JSON
    (f"  \n{CLICK_JSON}  \n", CLICK),
    ('<tool_call>\n{"name": "mobile_use", "arguments": "{\\"action\\": \\"click\\", \\"coordinate\\": [935, 406]}"}\n</tool_call>', CLICK),
    ('<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [10.5, 20.25]}}\n</tool_call>',
     {"action": "left_click", "coordinate": [10.5, 20.25]}),
    ('<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click"}}\n</tool_call>',
     {"action": "left_click"}),
    ('<tool_call>\n{"name": "computer_use", "arguments": {"action": "key", "keys": ["ctrl", "c"]}}\n</tool_call>',
     {"action": "key", "keys": ["ctrl", "c"]}),
    ('<tool_call>\n{"name": "computer_use", "arguments": {"action": "type", "text": "日本語 </tool_call> ok"}}\n</tool_call>',
     None),  # a closing tag inside the text ends the block early: not a valid call
    ('<tool_call>\n{"name": "mobile_use", "arguments": {"action": "terminate", "status": "success"}}\n</tool_call>',
     {"action": "terminate", "status": "success"}),
    ('<tool_call>\n{"name": "mobile_use", "arguments": {"action": "system_button", "button": "Back"}}\n</tool_call>',
     {"action": "system_button", "button": "Back"}),
    ('Sure! Here is the call: {"name": "mobile_use", "arguments": {"action": "open", "text": "Clock"}} Done.',
     {"action": "open", "text": "Clock"}),
    (f"<tool_call>\n{CLICK_JSON}\n</tool_call>\n<tool_call>\n{json.dumps({'name': 'mobile_use', 'arguments': {'action': 'wait', 'time': 1}})}\n</tool_call>",
     CLICK),  # several blocks: the first one
    (f"<tool_call>\nnot json\n</tool_call>\n<tool_call>\n{CLICK_JSON}\n</tool_call>", CLICK),
]

# Malformed: each must raise ActionParseError and nothing else.
BAD = [
    "",
    "   ",
    "I cannot help with that.",
    "<tool_call>\n</tool_call>",
    "<tool_call>\n{\"name\": \"mobile_use\", \"arguments\": {\"action\": \"click\", \"coordinate\": [1, 2]}\n</tool_call>",
    "<tool_call>\n{'name': 'mobile_use', 'arguments': {'action': 'click'}}\n</tool_call>",  # python dict
    '<tool_call>\n{"name": "mobile_use"}\n</tool_call>',
    '<tool_call>\n{"arguments": {"action": "click"}}\n</tool_call>',
    '<tool_call>\n{"name": "mobile_use", "arguments": {"coordinate": [1, 2]}}\n</tool_call>',
    '<tool_call>\n{"name": "mobile_use", "arguments": {"action": 7}}\n</tool_call>',
    '<tool_call>\n{"name": "mobile_use", "arguments": "not json"}\n</tool_call>',
    '<tool_call>\n{"name": "mobile_use", "arguments": [1, 2]}\n</tool_call>',
    '<tool_call>\n{"name": 5, "arguments": {"action": "click"}}\n</tool_call>',
    '<tool_call>\n[1, 2, 3]\n</tool_call>',
    "```json\n{}\n```",
    "{" * 5000,
    "[" * 100000,
    "x{" * 300,
    "<tool_call>" * 3,
    '{"name": "mobile_use", "arguments": {"action": ""}}',
    '{"a": ' * 3000 + "1" + "}" * 3000,
    "1" * 5000,
    "null",
    '"just a string"',
]


@pytest.mark.parametrize("answer,expected", GOOD)
def test_good_answers_parse(answer, expected):
    if expected is None:
        with pytest.raises(ActionParseError):
            parse_tool_call(answer)
        return
    call = parse_tool_call(answer)
    assert call.arguments == expected
    assert call.name in ("mobile_use", "computer_use")


@pytest.mark.parametrize("answer", BAD)
def test_malformed_answers_raise_action_parse_error(answer):
    with pytest.raises(ActionParseError) as info:
        parse_tool_call(answer)
    message = str(info.value)
    assert 0 < len(message) < 600 and "\n" not in message.split(". ")[0]


def test_table_is_big_enough():
    assert len(GOOD) + len(BAD) >= 30


def test_all_blocks_are_returned_in_order():
    text = "".join(f"<tool_call>\n{json.dumps({'name': 'computer_use', 'arguments': {'action': 'wait', 'time': i}})}\n</tool_call>"
                   for i in range(3))
    assert [c.arguments["time"] for c in parse_tool_calls(text)] == [0, 1, 2]


def test_identical_blocks_are_each_returned():
    down = "<tool_call>\n" + json.dumps({"name": "mobile_use", "arguments": {"action": "key", "text": "down"}}) + "\n</tool_call>"
    calls = parse_tool_calls(down + "\n" + down + "\n" + down)
    assert len(calls) == 3 and len(set(c.to_json() for c in calls)) == 1


def test_error_message_tells_the_model_the_format():
    with pytest.raises(ActionParseError, match="<tool_call>"):
        parse_tool_call("click the button please")


def test_tool_call_json_is_the_cookbook_history_form():
    call = parse_tool_call(f"<tool_call>\n{CLICK_JSON}\n</tool_call>")
    assert call.to_json() == CLICK_JSON


def assert_usable(call):
    """What every returned call must be: a named tool and an arguments object with an action,
    plain JSON data that round-trips through the history form."""
    assert isinstance(call, ToolCall)
    assert isinstance(call.name, str) and call.name
    assert isinstance(call.arguments, dict)
    assert isinstance(call.action, str) and call.action
    assert parse_tool_call(call.to_json()) == call


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_arbitrary_text_raises_only_action_parse_error(text):
    try:
        call = parse_tool_call(text)
    except ActionParseError:
        return
    assert_usable(call)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


WRAPPERS = ["{}", "<tool_call>\n{}\n</tool_call>", "```json\n{}\n```", "x {} y", "<tool_call>{}"]
# Argument objects near the real ones: an action (or not), of any type; given as an object,
# as the JSON string some servers send, or as something else altogether.
argument_objects = st.dictionaries(st.sampled_from(["action", "coordinate", "text"]) | st.text(max_size=8),
                                   st.text(max_size=12) | json_values, max_size=4)
calls = st.fixed_dictionaries({
    "name": st.text(max_size=12) | json_values,
    "arguments": argument_objects | argument_objects.map(json.dumps) | json_values,
})


def expected_call(value):
    """(name, arguments) when ``value`` is a call the parser must accept, else None."""
    if not isinstance(value, dict) or "name" not in value or "arguments" not in value:
        return None
    name, arguments = value["name"], value["arguments"]
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    if not (isinstance(name, str) and name and isinstance(arguments, dict)):
        return None
    action = arguments.get("action")
    return (name, arguments) if isinstance(action, str) and action else None


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, st.fixed_dictionaries({"name": json_values, "arguments": json_values}), calls),
       st.sampled_from(WRAPPERS))
def test_arbitrary_json_in_any_wrapper_raises_only_action_parse_error(value, wrapper):
    text = wrapper.replace("{}", json.dumps(value))
    want = expected_call(value)
    try:
        call = parse_tool_call(text)
    except ActionParseError:
        assert want is None, f"a well-formed call was refused: {text!r}"
        return
    assert_usable(call)
    if want is not None:  # exactly what was written: same tool, same arguments (NaN included)
        assert call.name == want[0]
        assert json.dumps(call.arguments) == json.dumps(want[1])


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_text_in_grounding_raises_only_action_parse_error(text):
    try:
        found = parse_grounding(text)
    except ActionParseError:
        return
    assert found
    for item in found:
        assert len(item.coords) == (4 if item.shape == "box" else 2)
        assert all(math.isfinite(v) for v in item.coords)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["bbox_2d", "point_2d"]),
                          st.lists(st.integers(0, 4000), min_size=4, max_size=4)), min_size=1, max_size=4),
       st.sampled_from(WRAPPERS))
def test_every_box_and_point_written_is_found(items, wrapper):
    written = [{key: coords if key == "bbox_2d" else coords[:2], "label": f"item {i}"}
               for i, (key, coords) in enumerate(items)]
    found = parse_grounding(wrapper.replace("{}", json.dumps(written)))
    assert [(g.shape, list(g.coords), g.label) for g in found] == \
        [("box" if "bbox_2d" in w else "point", w.get("bbox_2d") or w["point_2d"], w["label"]) for w in written]


@pytest.mark.parametrize("answer,shapes,centers", [
    ('```json\n[\n\t{"bbox_2d": [10, 20, 30, 40], "label": "Submit"}\n]\n```', ["box"], [(20, 30)]),
    ('[{"bbox_2d": [0, 0, 10, 10], "label": "a"}, {"bbox_2d": [10, 10, 20, 20], "label": "b"}]', ["box", "box"], [(5, 5), (15, 15)]),
    ('{"point_2d": [7, 9], "label": "icon"}', ["point"], [(7, 9)]),
    ('```json\n[{"point_2d": [1, 2]}, {"point_2d": [3, 4]}]\n```', ["point", "point"], [(1, 2), (3, 4)]),
    ('The button is at {"bbox_2d": [2, 2, 4, 4], "label": "ok"}.', ["box"], [(3, 3)]),
    ('```json\n[{"bbox_2d": [0, 0, 2, 2], "label": "a"}, {"bbox_2d": [4, 4, 6', ["box"], [(1, 1)]),  # cut off
])
def test_grounding_answers(answer, shapes, centers):
    found = parse_grounding(answer)
    assert [g.shape for g in found] == shapes
    assert [g.center for g in found] == centers


def test_grounding_without_coordinates_is_an_error():
    with pytest.raises(ActionParseError, match="bbox_2d"):
        parse_grounding('[{"label": "nothing"}]')


@pytest.mark.parametrize("answer,expected", [
    ("[10, 20, 30, 40]", [("box", (10, 20, 30, 40), None)]),  # a bare box, as Qwen writes it too
    ("[5.5, 6]", [("point", (5.5, 6), None)]),
    ("[[1, 2, 3, 4], [7, 8]]", [("box", (1, 2, 3, 4), None), ("point", (7, 8), None)]),
    ('{"bbox": [1, 2, 3, 4], "label": 7}', [("box", (1, 2, 3, 4), "7")]),
    ('{"point": [3, 4]}', [("point", (3, 4), None)]),
])
def test_bare_lists_and_short_keys_are_groundings(answer, expected):
    found = parse_grounding(answer)
    assert [(g.shape, g.coords, g.label) for g in found] == expected
    assert all(isinstance(v, float) for g in found for v in g.coords)


@pytest.mark.parametrize("answer", [
    "[1, 2, 3]", "[1, 2, 3, 4, 5]", "[true, 2]", '["1", 2]', "[NaN, 2]", "[1, Infinity]",
    '{"bbox_2d": ["a", 1, 2, 3]}', '{"bbox_2d": [1, 2]}', '{"point_2d": [1, 2, 3, 4]}',
    '{"point_2d": [false, 1]}',
])
def test_what_is_not_a_box_or_point_is_an_error(answer):
    with pytest.raises(ActionParseError, match="no bbox_2d or point_2d"):
        parse_grounding(answer)


def test_a_grounding_object_at_the_start_of_prose_is_found():
    found = parse_grounding('{"point_2d": [1, 2], "label": "icon"} is where the icon is.')
    assert [(g.shape, g.coords, g.label) for g in found] == [("point", (1, 2), "icon")]


def test_an_answer_that_is_not_text_says_what_it_was():
    for parse in (parse_grounding, parse_tool_calls):
        with pytest.raises(ActionParseError, match="expected the model's answer as text, got int"):
            parse(7)


# What the model is told on its next try: what was wrong, and the value it wrote.
@pytest.mark.parametrize("answer,told", [
    ("nothing here", "no tool call found in 'nothing here'. Answer with exactly one tool call: "
                     '<tool_call> {"name": "<tool>", "arguments": {"action": ...}} </tool_call>'),
    ('{"name": "computer_use"}', "the tool call needs 'name' and 'arguments', got keys ['name']. "
                                 "Answer with exactly one tool call"),
    ('{"name": 5, "arguments": {}}', "the tool name must be a string, got '5'"),
    ('{"name": "", "arguments": {}}', "the tool name must be a string, got ''"),
    ('{"name": "c", "arguments": "{not json"}',
     "'arguments' is a string that is not a JSON object: '{not json'"),
    ('{"name": "c", "arguments": [1]}', "'arguments' must be a JSON object, got '[1]'"),
    ('{"name": "c", "arguments": {"x": 1}}', "'arguments' needs an 'action' string, got \"{'x': 1}\""),
    ('{"name": "c", "arguments": {"action": ""}}',
     "'arguments' needs an 'action' string, got \"{'action': ''}\""),
])
def test_what_the_model_is_told_names_its_mistake(answer, told):
    with pytest.raises(ActionParseError) as caught:
        parse_tool_call(answer)
    assert str(caught.value).startswith(told)


def test_a_long_value_is_shown_cut_with_its_spaces_squeezed():
    long = "word  \n " * 100
    with pytest.raises(ActionParseError) as caught:
        parse_tool_call(long)
    shown = " ".join(long.split())
    assert f"no tool call found in '{shown[:120]}...'." in str(caught.value)
    exact = "x" * 120  # exactly the limit: shown whole
    with pytest.raises(ActionParseError, match=f"found in '{exact}'\\. Answer"):
        parse_tool_call(exact)


def test_a_call_is_written_back_with_its_characters_as_they_are():
    call = parse_tool_call('<tool_call>{"name": "mobile_use", "arguments": {"action": "type", "text": "café ✓"}}</tool_call>')
    assert call.to_json() == '{"name": "mobile_use", "arguments": {"action": "type", "text": "café ✓"}}'


def test_the_first_error_is_the_one_reported():
    text = '<tool_call>{"name": 5, "arguments": {}}</tool_call><tool_call>{"name": "c"}</tool_call>'
    with pytest.raises(ActionParseError, match="the tool name must be a string, got '5'"):
        parse_tool_calls(text)


def test_the_call_is_found_past_other_braces_in_the_prose():
    call = '{"name": "computer_use", "arguments": {"action": "wait", "time": 1}}'
    # Prose with a dict of its own before the fenced call: the fenced call is the answer.
    fenced = parse_tool_call('I see {"a": 1} on the screen.\n```json\n' + call + "\n```")
    assert fenced.arguments == {"action": "wait", "time": 1}
    # Braces that are not JSON before it: the search goes on past them.
    assert parse_tool_call("I think {this is not json} so " + call).arguments["time"] == 1


def test_grounding_is_found_past_what_does_not_parse():
    assert parse_grounding('x{{"point_2d": [1, 2]}}')[0].coords == (1, 2)  # "{{": the inner one
    assert parse_grounding('{not json} and {"point_2d": [3, 4]}')[0].coords == (3, 4)
    assert parse_grounding("```\nnot json\n```\n```json\n[1, 2, 3, 4]\n```")[0].coords == (1, 2, 3, 4)


def test_a_grounding_answer_without_coordinates_says_how_to_answer():
    with pytest.raises(ActionParseError) as caught:
        parse_grounding("nothing")
    assert str(caught.value) == ("no bbox_2d or point_2d found in 'nothing'; answer like "
                                 '[{"bbox_2d": [x1, y1, x2, y2], "label": "..."}]')
