"""Replays on a recording FakeEnv: each recorded step is checked against the screen before it
runs; a step that no longer fits stops the replay (``diverged``) or goes to the model."""

import pytest
from PIL import Image, ImageDraw

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import QwenPolicy, ScriptedPolicy
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.replay import Recording, ReplayPolicy
from qvl_agent.agent.trajectory import load_run
from qvl_agent.envs.actions import Click, KeyPress, Point, Terminate, TypeText
from qvl_agent.envs.fake import FakeEnv
from qvl_agent.model.scripted import ScriptedVLM
from tests.fakeqwen import tool_call

GOAL = "Say hello in the box"
BUTTON = (300, 200)


def screen(button=BUTTON, label="OK", size=(640, 400)) -> Image.Image:
    """A plain screen with a labelled box at ``button`` (its centre)."""
    image = Image.new("RGB", size, (245, 245, 245))
    draw = ImageDraw.Draw(image)
    x, y = button
    draw.rectangle((x - 40, y - 16, x + 40, y + 16), fill=(30, 90, 200))
    draw.text((x - 30, y - 6), label * 3, fill=(255, 255, 255))
    return image


def texts(messages) -> str:
    """Every text part of a request (the images left out)."""
    return "\n".join(part if isinstance(part, str) else part.get("text", "")
                     for m in messages
                     for part in ([m["content"]] if isinstance(m["content"], str) else m["content"]))


def record(tmp_path, actions, goal=GOAL, image=None):
    env = FakeEnv(screen=(640, 400), screenshot=image or screen())
    out = tmp_path / "recorded"
    trajectory = run_episode(env, ScriptedPolicy(actions), goal, recorder=RunRecorder(out))
    assert trajectory.status in ("success", "answered")
    return Recording.load(out)


def replay(tmp_path, recording, image, *, fallback=None, goal=GOAL, env=None):
    env = env or FakeEnv(screen=(640, 400), screenshot=image)
    policy = ReplayPolicy(recording, env, fallback=fallback)
    out = tmp_path / "replayed"
    trajectory = run_episode(env, policy, goal, recorder=RunRecorder(out, replace=True),
                             max_steps=len(recording.moves) + 5)
    return trajectory, env, policy, out


RECORDED = [Click(at=Point(x=300, y=200)), TypeText(text="hello"), KeyPress(keys=["enter"]),
            Terminate(status="success")]


def test_an_unchanged_screen_replays_every_step_without_a_model(tmp_path):
    recording = record(tmp_path, RECORDED)
    trajectory, env, policy, out = replay(tmp_path, recording, screen())
    assert trajectory.status == "success"
    assert env.executed == RECORDED[:3]
    assert [s.replay.source for s in trajectory.steps] == ["replayed"] * 4
    assert [s.replay.recorded_step for s in trajectory.steps] == [1, 2, 3, 4]
    assert policy.stats == {"replayed": 4, "replanned": 0, "model_calls": 0}


def test_a_changed_target_stops_the_replay_before_it_clicks(tmp_path):
    recording = record(tmp_path, RECORDED)
    moved = screen(button=(500, 320))  # a redesign: the box is elsewhere now
    trajectory, env, _, out = replay(tmp_path, recording, moved)
    assert trajectory.status == "diverged"
    assert env.executed == []  # never clicked where the box was
    message = trajectory.meta.message
    assert message.startswith("step 1: the target region changed: ")
    assert "% of its pixels differ" in message
    step = trajectory.steps[-1]
    assert step.replay.source == "diverged" and step.replay.recorded == RECORDED[0]
    assert step.action is None and step.screenshot == "step_001.png"
    # A complete run directory.
    run = load_run(out)
    assert run.meta.status == "diverged" and run.steps[0].replay.source == "diverged"
    assert (out / "step_001.png").is_file()
    page = (out / "report.html").read_text()
    assert "diverged" in page and "the target region changed" in page


def test_a_label_changed_under_the_point_is_a_divergence_too(tmp_path):
    recording = record(tmp_path, RECORDED)
    trajectory, env, _, _ = replay(tmp_path, recording, screen(label="NO"))
    assert trajectory.status == "diverged" and env.executed == []


def test_the_model_takes_over_where_the_screen_no_longer_fits(tmp_path):
    recording = record(tmp_path, RECORDED)
    # The box is still there for the click, but the goal changed: the recorded text does not fit.
    model = ScriptedVLM([tool_call(action="type", text="good morning"),
                         tool_call(action="terminate", status="success")])
    fallback = QwenPolicy(model, "computer_use")
    goal = "Say good morning in the box"
    trajectory, env, policy, out = replay(tmp_path, recording, screen(), fallback=fallback, goal=goal)
    assert trajectory.status == "success"
    assert env.executed == [RECORDED[0], TypeText(text="good morning")]
    sources = [s.replay.source for s in trajectory.steps]
    assert sources == ["replayed", "replanned", "replanned"]
    assert "recorded text 'hello' is not in it" in trajectory.steps[1].replay.note
    assert policy.stats == {"replayed": 1, "replanned": 2, "model_calls": 2}
    assert len(model.requests) == 2
    # The model got the goal and the replayed click as its own earlier call.
    first = texts(model.requests[0])
    assert goal in first and '"left_click"' in first and "hello" not in first
    assert load_run(out).meta.model == "replay+scripted"


def test_text_still_fits_another_goal_that_contains_it(tmp_path):
    recording = record(tmp_path, RECORDED)
    trajectory, env, _, _ = replay(tmp_path, recording, screen(), goal="Type hello and press enter")
    assert trajectory.status == "success" and env.executed == RECORDED[:3]


class Settling(FakeEnv):
    """Shows a half-drawn screen until ``settle`` is called."""

    def __init__(self) -> None:
        super().__init__(screen=(640, 400), screenshot=lambda _: self.image)
        self.image = screen(button=(500, 320))
        self.settled = 0

    def settle(self) -> None:
        self.settled += 1
        self.image = screen()


def test_a_screen_still_settling_is_waited_for_not_judged(tmp_path):
    recording = record(tmp_path, RECORDED)
    env = Settling()
    trajectory, _, _, out = replay(tmp_path, recording, None, env=env)
    assert trajectory.status == "success" and env.settled >= 1
    assert env.executed == RECORDED[:3]
    # The step records the settled screen it was judged on, not the first look.
    first = Image.open(out / trajectory.steps[0].screenshot).convert("RGB")
    assert first.tobytes() == screen().tobytes()


def test_a_recording_that_ran_out_ends_as_it_ended(tmp_path):
    env = FakeEnv(screen=(640, 400), screenshot=screen())
    out = tmp_path / "recorded"
    recorded = run_episode(env, ScriptedPolicy([Click(at=Point(x=300, y=200))] * 2), GOAL,
                           recorder=RunRecorder(out), max_steps=2)
    assert (recorded.status, recorded.meta.budget) == ("budget", "max_steps")
    trajectory, env, _, _ = replay(tmp_path, Recording.load(out), screen())
    assert (trajectory.status, trajectory.meta.budget) == ("budget", "max_steps")
    assert "as recorded" in trajectory.meta.message
    assert len(env.executed) == 2


def test_a_run_without_actions_is_refused(tmp_path):
    from qvl_agent.envs.errors import ConfigError

    env = FakeEnv(screen=(640, 400))
    out = tmp_path / "empty"
    run_episode(env, ScriptedPolicy([]), GOAL, recorder=RunRecorder(out))
    with pytest.raises(ConfigError, match="no action to replay"):
        Recording.load(out)


SIGN_IN = [Click(at=Point(x=300, y=200)), TypeText(text="ada"), KeyPress(keys=["tab"]),
           TypeText(text="<secret:PIN>"), Terminate(status="success")]


def test_a_secret_is_typed_with_the_value_given_for_the_replay(tmp_path):
    """The recording keeps only <secret:PIN>; the replay types the value given this time."""
    env = FakeEnv(screen=(640, 400), screenshot=screen())
    out = tmp_path / "recorded"
    run_episode(env, ScriptedPolicy(SIGN_IN), "Sign in", recorder=RunRecorder(out),
                secrets={"PIN": "pin-1234-a"})
    assert env.executed[3] == TypeText(text="pin-1234-a")
    recording = Recording.load(out)
    assert "pin-1234-a" not in (out / "trajectory.jsonl").read_text() and recording.secret_names == ["PIN"]

    env = FakeEnv(screen=(640, 400), screenshot=screen())
    policy = ReplayPolicy(recording, env)
    trajectory = run_episode(env, policy, "Sign in", secrets={"PIN": "pin-9876-b"},
                             recorder=RunRecorder(tmp_path / "replayed"))
    # The secrets line after the goal is no new goal: the recorded 'ada' still fits.
    assert trajectory.status == "success" and policy.stats["replanned"] == 0
    assert env.executed == [*SIGN_IN[:3], TypeText(text="pin-9876-b")]
    assert "pin-9876-b" not in (tmp_path / "replayed" / "trajectory.jsonl").read_text()


def test_a_replay_without_the_secrets_the_run_typed_is_refused_before_it_starts(tmp_path):
    from qvl_agent.agent.replay.runner import ReplayOptions, replay_run
    from qvl_agent.agent.secrets import Secrets
    from qvl_agent.envs.errors import ConfigError

    out = tmp_path / "recorded"
    run_episode(FakeEnv(screen=(640, 400), screenshot=screen()), ScriptedPolicy(SIGN_IN), "Sign in",
                recorder=RunRecorder(out), secrets={"PIN": "pin-1234-a"})
    for given in (None, Secrets.from_mapping({"OTHER": "x"})):
        with pytest.raises(ConfigError, match=r"typed the secret\(s\) PIN.*--secret PIN"):
            replay_run(ReplayOptions(run_dir=out, progress=False), secrets=given)


def test_a_secret_the_run_typed_is_the_scripts_variable_in_its_export(tmp_path):
    import yaml

    from qvl_agent.agent.replay.midscene import export_script
    from qvl_agent.agent.trajectory import RunMeta, now_iso

    out = tmp_path / "recorded"
    meta = RunMeta(goal="Sign in", env="browser", tool="computer_use", model="scripted",
                   started_at=now_iso(), options={"screen": {"url": "http://127.0.0.1:9/login.html"}})
    actions = [Click(at=Point(x=300, y=200)), TypeText(text="<secret:PIN>"), Terminate(status="success")]
    run_episode(FakeEnv(screen=(640, 400), screenshot=screen()), ScriptedPolicy(actions), "Sign in",
                recorder=RunRecorder(out), meta=meta, secrets={"PIN": "pin-1234-a"})
    script = tmp_path / "sign-in.yaml"
    exported = export_script(out, script, cache_dir=tmp_path / "cache")
    flow = yaml.safe_load(script.read_text())["tasks"][0]["flow"]
    assert [step["value"] for step in flow if "aiInput" in step] == ["${PIN}"]
    assert exported.secrets == ["PIN"] and "--secret PIN" in script.read_text().splitlines()[2]
    assert "pin-1234-a" not in script.read_text()


def test_a_wheel_scroll_and_a_finger_swipe_become_midscenes_scroll_the_content_way(tmp_path):
    """A wheel scrolling 300 px down and a finger moving up 350 px both move the content down;
    a finger moving right moves it left."""
    import yaml

    from qvl_agent.agent.replay.midscene import export_script
    from qvl_agent.agent.trajectory import RunMeta, now_iso
    from qvl_agent.envs.actions import Scroll, Swipe

    out = tmp_path / "recorded"
    meta = RunMeta(goal="Scroll", env="browser", tool="computer_use", model="scripted",
                   started_at=now_iso(), options={"screen": {"url": "http://127.0.0.1:9/list.html"}})
    actions = [Scroll(at=Point(x=300, y=200), dy=300),
               Swipe(start=Point(x=300, y=350), end=Point(x=300, y=0)),
               Swipe(start=Point(x=100, y=200), end=Point(x=400, y=210)),
               Terminate(status="success")]
    run_episode(FakeEnv(screen=(640, 400), screenshot=screen()), ScriptedPolicy(actions), "Scroll",
                recorder=RunRecorder(out), meta=meta)
    script = tmp_path / "scroll.yaml"
    export_script(out, script, cache_dir=tmp_path / "cache")
    flow = yaml.safe_load(script.read_text())["tasks"][0]["flow"]
    assert [(s["direction"], s["distance"]) for s in flow if "aiScroll" in s] == \
        [("down", 300), ("down", 350), ("left", 300)]
