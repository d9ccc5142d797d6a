"""From oracle runs to training data and a fine-tune that learns from it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import QwenPolicy
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.trajectory import load_run
from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.fake import FakeEnv
from qvl_agent.eval.sft import PromptOptions, export_sft
from qvl_agent.model.convert import to_action
from qvl_agent.model.frame import Frame
from qvl_agent.model.parsing import parse_tool_calls
from qvl_agent.model.scripted import ScriptedVLM
from tests.conftest import run_cli

pytestmark = pytest.mark.slow
# Tests on oracle_runs are marked android and browser: it evaluates android tasks on the
# virtual phone and MiniWoB tasks in Chromium.

LIMITS = PromptOptions(min_pixels=3136, max_pixels=100352)  # small frames: a fast fine-tune
_RESOLUTION = re.compile(r"The screen's resolution is (\d+)x(\d+)\.")


@pytest.fixture(scope="module")
def oracle_runs(tmp_path_factory) -> dict[str, Path]:
    """Oracle eval runs of a few android and MiniWoB tasks, through the CLI as a user makes them."""
    root = tmp_path_factory.mktemp("oracle-runs")
    suites = {"android": ["--device", "sim", "--tasks", "toggle-wifi|add-contact|set-alarm|contact-number-question"],
              "miniwob": ["--tasks", "click-button$|enter-text$|click-checkboxes$|choose-list$"]}
    for suite, extra in suites.items():
        result = run_cli("eval", "--suite", suite, "--policy", "oracle", "--out", str(root / suite),
                         *extra, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
    return {suite: root / suite for suite in suites}


@pytest.fixture(scope="module")
def exported(oracle_runs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sft") / "messages"
    export_sft(list(oracle_runs.values()), out, fmt="messages", validation=0.3, options=LIMITS)
    return out


def _rows(folder: Path, split: str) -> list[dict]:
    return [json.loads(line) for line in (folder / f"{split}.jsonl").read_text().splitlines()]


def _close(a, b, tolerance) -> bool:
    """Same action; points may differ by what one whole frame pixel is on the screen."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) == {"x", "y"} == set(b):
            return abs(a["x"] - b["x"]) <= tolerance[0] and abs(a["y"] - b["y"]) <= tolerance[1]
        return a.keys() == b.keys() and all(_close(a[k], b[k], tolerance) for k in a)
    return a == b


@pytest.mark.android
@pytest.mark.browser
def test_every_sample_shows_its_frame_and_answers_the_executed_action(exported, oracle_runs):
    rows = _rows(exported, "train") + _rows(exported, "validation")
    tasks = {row["task"] for row in rows}
    assert any(t.startswith("android/") for t in tasks) and any(t.startswith("miniwob/") for t in tasks)
    for row in rows:
        system = row["messages"][0]["content"]
        stated = tuple(map(int, _RESOLUTION.search(system).groups()))
        with Image.open(exported / row["images"][-1]) as image:
            assert image.size == stated == tuple(row["frame"])
        user = row["messages"][1]["content"]
        assert user[0]["type"] == "text" and user[0]["text"].startswith("The user query:  ")
        assert [p["type"] for p in user].count("image") == len(row["images"]) == 1
        # The answer parses with our parser and maps back to what the run executed.
        suite = row["task"].split("/")[0]
        run_dir = oracle_runs[suite] / "runs" / row["episode"]
        steps = {s.index: s for s in load_run(run_dir).steps}
        executed = steps[row["step"]]
        frame = Frame.for_image(executed.screenshot_size, executed.screen, max_pixels=LIMITS.max_pixels)
        answer = row["messages"][-1]
        assert answer["role"] == "assistant" and answer["content"].startswith("<tool_call>\n")
        back = [to_action(call, frame) for call in parse_tool_calls(answer["content"])]
        tolerance = (frame.screen.width / frame.width, frame.screen.height / frame.height)
        assert len(back) == 1 and _close(back[0].model_dump(), executed.action.model_dump(), tolerance)


@pytest.mark.android
@pytest.mark.browser
def test_the_progress_lists_the_earlier_steps_as_tool_calls(exported):
    rows = sorted(_rows(exported, "train") + _rows(exported, "validation"),
                  key=lambda r: (r["episode"], r["step"]))
    later = [r for r in rows if r["step"] == 3]
    assert later
    for row in later:
        text = row["messages"][1]["content"][0]["text"]
        assert "Step 1: {\"name\": " in text and "Step 2: {\"name\": " in text and "Step 3" not in text


@pytest.mark.android
@pytest.mark.browser
def test_the_split_is_by_task_and_both_formats_load(exported, oracle_runs, tmp_path):
    import datasets

    summary = json.loads((exported / "summary.json").read_text())
    assert not set(summary["tasks"]["train"]) & set(summary["tasks"]["validation"])
    assert summary["tasks"]["validation"]
    # A cache of its own: the shared one may hold an earlier test run's rows under this path.
    loaded = datasets.load_dataset(str(exported), cache_dir=str(tmp_path / "hf-cache"))
    assert loaded["train"].num_rows == summary["samples"]["train"] == len(_rows(exported, "train"))
    assert loaded["validation"].num_rows == summary["samples"]["validation"]
    assert {row["task"] for row in loaded["validation"]} == set(summary["tasks"]["validation"])

    sharegpt = tmp_path / "sharegpt"
    export_sft(list(oracle_runs.values()), sharegpt, fmt="sharegpt", validation=0.3, options=LIMITS)
    info = json.loads((sharegpt / "dataset_info.json").read_text())
    for name, entry in info.items():
        assert entry["formatting"] == "sharegpt"
        rows = datasets.load_dataset("json", data_files=str(sharegpt / entry["file_name"]),
                                     cache_dir=str(tmp_path / "hf-cache"))["train"]
        for row in rows:
            human = [turn["value"] for turn in row[entry["columns"]["messages"]] if turn["from"] == "human"]
            assert sum(value.count("<image>") for value in human) == len(row["images"])
            assert row["conversations"][-1]["from"] == "gpt"
            assert row["system"].startswith("You are a helpful assistant.")
            assert all((sharegpt / image).is_file() for image in row["images"])
    assert sum(json.loads((sharegpt / "summary.json").read_text())["samples"].values()) == \
        sum(summary["samples"].values())


def _model_run(run_dir: Path, answers: list[str], *, max_pixels: int = LIMITS.max_pixels,
               answer: bool = False) -> Path:
    env = FakeEnv(screen=(1280, 720), kind=EnvKind.browser,
                  screenshot=Image.new("RGB", (1280, 720), "white"))
    policy = QwenPolicy(ScriptedVLM(answers, max_pixels=max_pixels), "computer_use", answer=answer)
    run_episode(env, policy, "click twice", recorder=RunRecorder(run_dir))
    return run_dir


def _call(action: str, **args) -> str:
    return "<tool_call>\n" + json.dumps({"name": "computer_use", "arguments": {"action": action, **args}}) + "\n</tool_call>"


def test_failed_steps_and_duplicates_are_dropped_and_unsolved_runs_left_out(tmp_path):
    solved = _model_run(tmp_path / "runs" / "solved", [
        _call("left_click", coordinate=[10, 20]), "not a tool call",
        _call("left_click", coordinate=[30, 40]), _call("terminate", status="success")])
    shutil.copytree(solved, tmp_path / "runs" / "copy")  # the same episode again
    _model_run(tmp_path / "runs" / "gave-up", [_call("terminate", status="failure")])

    summary = export_sft([tmp_path / "runs"], tmp_path / "out", validation=0, options=LIMITS)
    assert (summary.episodes, summary.episodes_unsuccessful) == (3, 1)
    assert (summary.answers, summary.failed, summary.duplicates) == (8, 2, 3)
    rows = _rows(tmp_path / "out", "train")
    assert [json.loads(r["messages"][-1]["content"].split("\n")[1])["arguments"]["action"] for r in rows] == \
        ["left_click", "left_click", "terminate"]
    # The step after the failed one was prompted with the feedback the agent really got.
    assert "could not be executed" in rows[1]["messages"][1]["content"][-1]["text"]

    everything = export_sft([tmp_path / "runs"], tmp_path / "all", only_success=False,
                            validation=0, options=LIMITS)
    assert everything.episodes_unsuccessful == 0 and everything.samples["train"] == 4


def test_a_model_run_is_exported_with_the_prompt_it_was_given(tmp_path):
    # The run offered the answer action and used other pixel limits than the export's defaults.
    _model_run(tmp_path / "run", [_call("answer", text="42")], max_pixels=200704, answer=True)
    export_sft([tmp_path / "run"], tmp_path / "out", validation=0,
               options=PromptOptions(min_pixels=3136, max_pixels=12845056))
    row, = _rows(tmp_path / "out", "train")
    assert row["frame"] == [588, 336]
    assert "The screen's resolution is 588x336." in row["messages"][0]["content"]
    assert "* `answer`" in row["messages"][0]["content"]
    plain = _model_run(tmp_path / "plain", [_call("terminate", status="success")])
    export_sft([plain], tmp_path / "plain-out", validation=0, options=LIMITS)
    row, = _rows(tmp_path / "plain-out", "train")
    assert "`answer`" not in row["messages"][0]["content"]


@pytest.mark.android
@pytest.mark.browser
def test_export_and_train_from_the_command_line(exported, oracle_runs, tiny_checkpoint, tmp_path):
    result = run_cli("export", "sft", *map(str, oracle_runs.values()), "--out", str(tmp_path / "cli"),
                     "--max-pixels", str(LIMITS.max_pixels), "--validation", "0.3", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "left out as not solved" in result.stdout and "validation:" in result.stdout
    assert (tmp_path / "cli" / "README.md").is_file()

    result = run_cli("train", str(exported), "--model", str(tiny_checkpoint), "--out",
                     str(tmp_path / "tuned"), "--max-steps", "8", "--lr", "1e-3",
                     "--torch-device", "cpu", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "tuned" / "train_report.json").read_text())
    assert report["steps"] == 8
    assert report["validation_loss_after"] < report["validation_loss_before"]
    assert "validation loss:" in result.stdout
    # Each of transformers' bars follows a line that says what it measures.
    said = [line for line in result.stderr.splitlines() if line.startswith("train: ")]
    stages = ["train: validation loss before training (", "train: training on ",
              "train: validation loss after training (", f"train: saving to {tmp_path / 'tuned'}"]
    assert [next(i for i, line in enumerate(said) if line.startswith(stage)) for stage in stages] \
        == list(range(len(said) - 4, len(said)))
    assert (tmp_path / "tuned" / "config.json").is_file()


def test_a_lora_fine_tune_saves_a_checkpoint_that_loads(tmp_path, tiny_checkpoint):
    from qvl_agent.eval.sft.train import TrainOptions, train_sft
    from qvl_agent.model.transformers_backend import TransformersBackend

    for name, x in (("a", 10), ("b", 50)):  # two tasks: one for each split
        run = _model_run(tmp_path / "runs" / name, [_call("left_click", coordinate=[x, 20]),
                                                   _call("terminate", status="success")])
        meta = json.loads((run / "meta.json").read_text())
        meta["options"]["task"] = name
        (run / "meta.json").write_text(json.dumps(meta))
    export_sft([tmp_path / "runs"], tmp_path / "data", validation=0.5, options=LIMITS)
    report = train_sft(tmp_path / "data", str(tiny_checkpoint), tmp_path / "tuned",
                       TrainOptions(max_steps=2, learning_rate=1e-3, lora=True, lora_rank=4, device="cpu"))
    assert report["lora"] and report["steps"] == 2
    tuned = TransformersBackend(str(tmp_path / "tuned"), device="cpu", max_pixels=LIMITS.max_pixels)
    assert not any("lora" in name for name, _ in tuned.model.named_parameters())
