"""--answer-action auto: the question tasks of the suites get the answer action, others don't."""

from pathlib import Path

from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.fake import FakeEnv
from qvl_agent.eval.config import EvalConfig
from qvl_agent.eval.worker import InstanceRunner
from qvl_agent.tasks.registry import get_suite


class _Backend:
    name, min_pixels, max_pixels = "stub", 3136, 12845056


def test_the_question_tasks_are_the_ones_that_read_the_answer():
    android = {t.id for t in get_suite("android").tasks if t.expects_answer}
    assert android == {"android/enabled-alarms-question", "android/contact-number-question",
                       "android/cheapest-fare-question"}
    assert {t.id for t in get_suite("web").tasks if t.expects_answer} == {"web/mug-price"}


def test_the_worker_offers_the_answer_action_only_for_questions(tmp_path: Path):
    for answer_action, expected in (("auto", {True, False}), ("off", {False}), ("on", {True})):
        config = EvalConfig(suite="android", out=tmp_path, policy={
            "kind": "qwen", "model": {"endpoint": "http://x/v1", "answer_action": answer_action}})
        runner = InstanceRunner(config)
        runner._backend = _Backend()
        env = FakeEnv(kind=EnvKind.android)
        offered = {runner._policy(task_cls.from_seed(0), env).answer
                   for task_cls in runner.suite.tasks}
        assert offered == expected, answer_action
        question = runner.suite.task("android/contact-number-question").from_seed(0)
        assert runner._policy(question, env).answer is (answer_action != "off")
