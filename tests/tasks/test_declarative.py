"""OSWorld-style task files: validation errors, metrics, and the built-in web suite."""

import json

import pytest

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import ScriptedPolicy
from qvl_agent.envs.actions import Terminate
from qvl_agent.envs.errors import ConfigError, TaskError
from qvl_agent.envs.factory import open_env
from qvl_agent.tasks.declarative import load_task_file, task_class
from qvl_agent.tasks.hooks import METRICS, OracleStep
from qvl_agent.tasks.registry import get_suite

GOOD = {
    "id": "t/one", "instruction": "do it", "config": [{"type": "sleep", "parameters": {"seconds": 0}}],
    "evaluator": {"func": "exact_match", "result": {"type": "answer"},
                  "expected": {"type": "rule", "rules": {"expected": "42"}}},
}


def write(tmp_path, data, name="task.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def bad(**changes):
    data = json.loads(json.dumps(GOOD))
    for dotted, value in changes.items():
        target = data
        *parents, last = dotted.split(".")
        for key in parents:
            target = target[int(key) if key.isdigit() else key]
        if value is ...:
            del target[last]
        else:
            target[last] = value
    return data


@pytest.mark.parametrize("data,where", [
    ("{not json", "not valid JSON (line 1"),
    (bad(instruction=...), "instruction: Field required"),
    (bad(**{"evaluator.func": "exactly"}), "evaluator.func: unknown metric 'exactly'"),
    (bad(**{"evaluator.result.type": "magic"}), "evaluator.result.type: unknown getter 'magic'"),
    (bad(**{"config.0.type": "reboot"}), "config.0.type: unknown setup step 'reboot'"),
    (bad(instrucion="typo"), "instrucion: Extra inputs are not permitted"),
    (bad(**{"evaluator.func": ["exact_match", "contains"]}), "2 funcs but"),
    (bad(**{"evaluator.result": ...}), "'result' and 'expected' are required"),
    (bad(**{"evaluator.expected": ...}), "'result' and 'expected' are required"),
    (bad(max_steps=0), "max_steps: Input should be greater than or equal to 1"),
])
def test_a_malformed_task_file_names_the_file_and_the_field(tmp_path, data, where):
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_task_file(path)
    assert str(info.value).startswith(f"{path}: ")
    assert where in str(info.value)


def test_osworld_informational_keys_and_infeasible_are_accepted(tmp_path):
    spec = load_task_file(write(tmp_path, {
        "id": "x", "snapshot": "chrome", "source": "https://example.org", "related_apps": ["chrome"],
        "instruction": "Delete the internet", "config": [], "evaluator": {"func": "infeasible"}}))
    assert spec.infeasible


@pytest.mark.parametrize("name,result,expected,options,score", [
    ("exact_match", "Subscribed: a", {"expected": "Subscribed: a"}, {}, 1.0),
    ("exact_match", "subscribed: A", {"expected": "Subscribed: a"}, {}, 0.0),
    ("exact_match", "subscribed: A", {"expected": "Subscribed: a"}, {"ignore_case": True}, 1.0),
    ("contains", "Welcome, ada!", {"expected": "ada"}, {}, 1.0),
    ("check_include_exclude", "a b c", {"include": ["a", "b"], "exclude": ["z"]}, {}, 1.0),
    ("check_include_exclude", "a b z", {"include": ["a"], "exclude": ["z"]}, {}, 0.0),
    ("fuzzy_match", "Ada Lovelace", {"expected": "ada lovelace."}, {}, 1.0),
    ("number_match", "It costs $12.50", {"expected": 12.5}, {}, 1.0),
    ("number_match", "It costs $12.51", {"expected": 12.5}, {}, 0.0),
    ("number_match", "no idea", {"expected": 12.5}, {}, 0.0),
    ("regex_match", "http://h/help.html", {"expected": r"/help\.html$"}, {}, 1.0),
    ("is_in_list", ["a", "/home/user/ext"], {"expected": "/home/user/ext"}, {}, 1.0),  # OSWorld's
    ("is_in_list", ["a"], {"expected": "/home/user/ext"}, {}, 0.0),
])
def test_metrics(name, result, expected, options, score):
    assert METRICS[name](result, expected, **options) == score


@pytest.mark.parametrize("name,expected", [
    ("contains", {"expected": ""}), ("contains", None), ("exact_match", None),
    ("check_include_exclude", {"includes": ["typo"]}),
])
def test_a_metric_with_nothing_to_compare_is_a_task_error_not_a_pass(name, expected):
    with pytest.raises(TaskError):
        METRICS[name]("anything at all", expected)


def test_suite_folder_with_mixed_envs_is_refused(tmp_path):
    write(tmp_path, GOOD, "a.json")
    write(tmp_path, {**GOOD, "id": "t/two", "env": "android"}, "b.json")
    with pytest.raises(ConfigError, match="one kind of env"):
        get_suite(str(tmp_path))


def test_duplicate_ids_are_refused(tmp_path):
    write(tmp_path, GOOD, "a.json")
    write(tmp_path, GOOD, "b.json")
    with pytest.raises(ConfigError, match="used twice: t/one"):
        get_suite(str(tmp_path))


@pytest.mark.browser
def test_the_web_suite_is_solved_by_its_oracles_and_not_by_claims():
    suite = get_suite("web")
    env = open_env(suite.spec())
    try:
        for task_cls in suite.tasks:
            task = task_cls.from_seed(0)
            task.setup(env)
            trajectory = run_episode(env, ScriptedPolicy(task.oracle(env)), task.goal, max_steps=task.max_steps)
            assert task.evaluate(env, trajectory) == 1.0, task.id
            task.teardown(env)

            liar = task_cls.from_seed(0)  # claims success without doing anything
            liar.setup(env)
            trajectory = run_episode(env, ScriptedPolicy([Terminate(status="success")]), liar.goal)
            assert liar.evaluate(env, trajectory) == 0.0, liar.id
    finally:
        env.close()


def step(action, **fields):
    return OracleStep(action=action, **fields)


# Each web task's near miss: the work done almost right, through the real page.
NEAR_MISSES = {
    "web/dark-mode": [step("click", selector="#dark"), step("click", selector="#beta"),  # and beta too
                      step("click", selector="#save"), step("terminate", status="success")],
    "web/sign-in": [step("click", selector="#user"), step("type", text="ada"), step("click", selector="#pass"),
                    step("type", text="correct hose"), step("key", keys=["tab"]), step("key", keys=["enter"]),
                    step("terminate", status="success")],
    "web/subscribe": [step("click", selector="#email"), step("type", text="ada@example.org"),
                      step("click", selector="#subscribe"), step("terminate", status="success")],
    "web/mug-price": [step("answer", text="$11.25")],  # the red mug's price
    "web/open-help": [step("wait", seconds=0.1), step("terminate", status="success")],  # never clicked
    "web/delete-account": [step("answer", text="Your account has been deleted.")],  # infeasible: not a refusal
}
# What the page shows after the near miss: proof that it was done, and done wrong.
PAGE_AFTER = {
    "web/dark-mode": ("#status", "Saved: email=on, dark=on, beta=on"),
    "web/sign-in": ("#status", "Wrong username or password"),
    "web/subscribe": ("#status", "Subscribed: ada@example.org"),
    "web/open-help": ("h1", "Mugs"),
}


@pytest.mark.browser
def test_the_web_suite_scores_near_misses_zero():
    suite = get_suite("web")
    assert sorted(NEAR_MISSES) == sorted(t.id for t in suite.tasks)
    env = open_env(suite.spec())
    try:
        for task_cls in suite.tasks:
            task = task_cls.from_seed(0)
            near = task_class(task_cls.spec.model_copy(update={"oracle": NEAR_MISSES[task.id]}),
                              task_cls.task_dir).from_seed(0)
            task.setup(env)
            trajectory = run_episode(env, ScriptedPolicy(near.oracle(env)), task.goal, max_steps=task.max_steps)
            assert trajectory.meta.status in ("success", "answered"), (task.id, trajectory.meta.message)
            if task.id in PAGE_AFTER:
                selector, text = PAGE_AFTER[task.id]
                assert env.page.inner_text(selector) == text, task.id
            assert task.evaluate(env, trajectory) == 0.0, task.id
            task.teardown(env)
    finally:
        env.close()


@pytest.mark.parametrize("content, said", [
    (json.dumps(GOOD).replace("do it", "caf\u00e9").encode("latin-1"),
     "not UTF-8 text (byte 0xe9 at offset"),
    (json.dumps({**GOOD, "family": None}).replace("null", "[" * 50_000 + "]" * 50_000).encode(),
     "JSON nested too deeply to be a task file"),
], ids=["latin-1", "deeply-nested"])
def test_a_task_file_that_is_not_utf8_or_nested_too_deep_is_one_line_naming_it(tmp_path, content, said):
    """As found: `eval --suite FILE` ended in "internal error" (exit 70) for both."""
    from tests.conftest import run_cli

    path = tmp_path / "task.json"
    path.write_bytes(content)
    result = run_cli("eval", "--suite", str(path), "--policy", "oracle", "--out",
                     str(tmp_path / "out"), timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: {said}")
