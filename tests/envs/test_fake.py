import pytest

from qvl_agent.envs.actions import Click, Point, TypeText
from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.conformance import check_env
from qvl_agent.envs.errors import UnsupportedActionError
from qvl_agent.envs.fake import FakeEnv


def test_fake_env_conforms_and_records():
    assert check_env(FakeEnv()) == []
    assert check_env(FakeEnv(kind=EnvKind.android, supported={Click}, scale=2.0)) == []
    env = FakeEnv()
    env.execute(Click(at=Point(x=1, y=2)))
    env.execute(TypeText(text="x"))
    assert env.executed == [Click(at=Point(x=1, y=2)), TypeText(text="x")]


def test_conformance_catches_a_broken_env():
    class Broken(FakeEnv):
        def execute(self, action):  # accepts everything, even what it says it cannot do
            self.executed.append(action)

    problems = check_env(Broken(supported={Click}))
    assert any("unsupported swipe was executed" in p for p in problems)
    assert any("Terminate" in p or "terminate" in p for p in problems)


def test_unsupported_is_refused_before_anything_happens():
    env = FakeEnv(supported={Click})
    with pytest.raises(UnsupportedActionError, match="cannot do 'type'; it can do: click"):
        env.execute(TypeText(text="x"))
    assert env.executed == []
