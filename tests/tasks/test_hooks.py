"""The task registries: a name taken twice is refused, plugins and suites are found by strings."""

import json
import subprocess
import sys
import textwrap

import pytest

from qvl_agent.agent.trajectory import RunMeta, Trajectory
from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.fake import FakeEnv
from qvl_agent.tasks import hooks, registry
from qvl_agent.tasks.declarative import load_task_file, task_class
from qvl_agent.tasks.hooks import METRICS, RESETS, register_getter, register_metric, use_plugin
from qvl_agent.tasks.registry import get_suite, list_suites, register_suite, register_suite_entry
from qvl_agent.tasks.suite import Suite


@pytest.fixture
def clean_registries(monkeypatch, tmp_path):
    """Registries as they are now, put back afterwards; ``tmp_path`` importable."""
    monkeypatch.syspath_prepend(str(tmp_path))
    hooks.load_plugins()  # the built-ins in, as any lookup would do
    list_suites()
    monkeypatch.setattr(hooks, "PLUGINS", list(hooks.PLUGINS))
    monkeypatch.setattr(hooks, "_imported", set(hooks._imported))
    for table in (hooks.SETUP_STEPS, hooks.GETTERS, hooks.METRICS, hooks.KNOWN_ORACLES):
        monkeypatch.setattr(table, "_items", dict(table._items))
    monkeypatch.setattr(hooks, "_FOREIGN", set(hooks._FOREIGN))
    monkeypatch.setattr(hooks, "_JUDGES_ALONE", set(hooks._JUDGES_ALONE))
    monkeypatch.setattr(registry, "_SUITES", dict(registry._SUITES))
    monkeypatch.setattr(registry, "_entries", dict(registry._entries))
    return tmp_path


def test_a_name_registered_twice_is_refused_with_both_registrants(clean_registries):
    with pytest.raises(ConfigError) as info:
        @register_metric("exact_match")
        def exact_match(result, expected, **options):
            return 1.0
    message = str(info.value)
    assert "metric 'exact_match' is registered twice" in message
    assert "qvl_agent.tasks.generic.exact_match" in message and "test_hooks" in message
    assert METRICS["exact_match"].__module__ == "qvl_agent.tasks.generic"  # the first one stays

    with pytest.raises(ConfigError, match="getter 'vm_file' is registered twice"):
        register_getter("vm_file")(lambda env, trajectory, task_dir, **_: None)
    with pytest.raises(ConfigError, match="reset 'desktop' is registered twice"):
        RESETS.add(EnvKind.desktop, lambda env: None)
    METRICS.add("exact_match", METRICS["exact_match"])  # the same function again is no duplicate


PLUGIN = '''
from qvl_agent.tasks.hooks import register_getter, register_metric


@register_getter("fortune")
def fortune(env, trajectory, task_dir, **_):
    return "you will pass"


@register_metric("starts_with")
def starts_with(result, expected, **options):
    return float(str(result).startswith(expected["expected"]))
'''


def test_a_plugin_is_found_by_its_module_string_when_a_task_file_needs_it(clean_registries):
    folder = clean_registries
    (folder / "fortune_plugin.py").write_text(PLUGIN)
    task = folder / "task.json"
    task.write_text(json.dumps({
        "id": "t/fortune", "instruction": "wait", "env": "browser",
        "evaluator": {"func": "starts_with", "result": {"type": "fortune"},
                      "expected": {"type": "rule", "rules": {"expected": "you will"}}}}))
    with pytest.raises(ConfigError, match="unknown metric 'starts_with'"):
        load_task_file(task)

    use_plugin("fortune_plugin")
    assert "fortune_plugin" not in sys.modules  # named, not imported yet
    spec = load_task_file(task)
    assert "fortune_plugin" in sys.modules
    env, task = FakeEnv(), task_class(spec, folder).from_seed(0)
    task.setup(env)
    done = RunMeta(goal=task.goal, env="browser", tool="computer_use", model="none",
                   started_at="now", status="success")
    assert task.evaluate(env, Trajectory(meta=done)) == 1.0


FOREIGN = '''
from qvl_agent.tasks.hooks import KNOWN_ORACLES, register_foreign_names

register_foreign_names("metric", ["their_metric"])
register_foreign_names("getter", ["their_getter"])
KNOWN_ORACLES.add("t/theirs", [{"action": "terminate", "status": "success"}])
'''

IMPLEMENTS = '''
from qvl_agent.tasks.hooks import register_metric


@register_metric("their_metric", expected=False)
def their_metric(result, expected=None, **options):
    return 1.0
'''


def test_foreign_names_load_as_missing_until_a_plugin_implements_them(clean_registries):
    folder = clean_registries
    (folder / "foreign_names.py").write_text(FOREIGN)
    (folder / "implements_theirs.py").write_text(IMPLEMENTS)
    task = folder / "task.json"
    task.write_text(json.dumps({
        "id": "t/theirs", "instruction": "wait", "env": "browser",
        "evaluator": {"func": "their_metric", "result": {"type": "answer"}}}))
    with pytest.raises(ConfigError, match="unknown metric 'their_metric'"):
        load_task_file(task)

    use_plugin("foreign_names")  # a name of theirs loads, and the task says what it lacks
    spec = load_task_file(task)
    assert spec.missing == ["metric their_metric"]
    assert task_class(spec, folder).has_oracle()  # KNOWN_ORACLES, by the task's id
    misspelt = json.loads(task.read_text())
    misspelt["evaluator"]["result"] = {"type": "their_getterr"}
    task.write_text(json.dumps(misspelt))
    with pytest.raises(ConfigError, match="unknown getter 'their_getterr'"):
        load_task_file(task)  # a name they do not have either is still a typo

    use_plugin("implements_theirs")  # implemented, it judges alone: no "expected" needed
    misspelt["evaluator"]["result"] = {"type": "answer"}
    task.write_text(json.dumps(misspelt))
    assert load_task_file(task).missing == []
    assert not hooks.needs_expected("their_metric") and hooks.needs_expected("exact_match")


def test_a_plugin_that_does_not_exist_is_one_line_naming_it(clean_registries):
    use_plugin("no_such_plugin_here")
    with pytest.raises(ConfigError, match="task plugin 'no_such_plugin_here' cannot be imported"):
        METRICS["exact_match"]


SUITE = '''
from qvl_agent.agent.trajectory import RunMeta, Trajectory
from qvl_agent.envs.base import EnvKind
from qvl_agent.tasks.suite import Suite

suite = Suite(name="lazy", description="a plugin's suite", env_kind=EnvKind.browser, tasks=[])
other = Suite(name="not-lazy", description="", env_kind=EnvKind.browser, tasks=[])
'''


def test_a_suite_is_found_by_its_entry_point_string(clean_registries):
    (clean_registries / "lazy_suite.py").write_text(SUITE)
    register_suite_entry("lazy", "lazy_suite:suite")
    assert "lazy_suite" not in sys.modules
    assert get_suite("lazy").description == "a plugin's suite"
    assert "lazy" in {s.name for s in list_suites()}

    register_suite_entry("wrong", "lazy_suite:other")
    with pytest.raises(ConfigError, match="'lazy_suite:other' is the suite 'not-lazy'"):
        get_suite("wrong")
    register_suite_entry("missing", "no_such_suite_module:suite")
    with pytest.raises(ConfigError, match="there is no module 'no_such_suite_module'"):
        get_suite("missing")


def test_a_suite_name_given_twice_is_refused(clean_registries):
    with pytest.raises(ConfigError, match="suite 'android' is registered twice"):
        register_suite_entry("android", "somewhere:suite")
    with pytest.raises(ConfigError, match="suite 'web' is registered twice"):
        register_suite(Suite(name="web", description="mine", env_kind=EnvKind.browser, tasks=[]))


def test_asking_for_one_suite_imports_only_its_module():
    code = textwrap.dedent("""
        import sys
        from qvl_agent.tasks import get_suite
        get_suite("android")
        print(sorted(m.split(".")[2] for m in sys.modules if m.startswith("qvl_agent.tasks.")
                     and m.endswith((".suite", ".steps")) and m.count(".") == 3))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['android']"  # not miniwob's, web's nor desktop's
