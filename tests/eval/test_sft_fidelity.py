"""What `train` learns from is what the agent sends: token for token, pixel for pixel.

An oracle run is exported with `qvl-agent export sft` (its defaults, as the loop uses it).
Then the agent runs the same instance through its own path (the eval worker, QwenPolicy,
TransformersBackend with the checkpoint's real processor), its model answering with the
exported answers. At every step the model's inputs must equal what `train` builds from the
exported sample up to the answer: the same token ids (system prompt, goal, progress, image
placeholders), the same pixels, the same image grid, the same M-RoPE token types. A space,
a history turn, a resize or a pixel limit that differs between the two fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qvl_agent.envs.spec import AndroidSpec
from qvl_agent.eval.config import EvalConfig, PolicySpec
from qvl_agent.eval.runner import run_eval
from qvl_agent.eval.worker import InstanceRunner
from qvl_agent.model.options import ModelOptions
from tests.conftest import run_cli

pytestmark = pytest.mark.slow

CASES = {  # suite: (task, seed, screen); several steps each, so the progress shows history
    "miniwob": ("miniwob/click-checkboxes", 3, None),
    "android": ("android/open-app", 0, AndroidSpec(device="sim")),
}


def _config(suite: str, out: Path, policy: PolicySpec, task: str, seed: int, env: AndroidSpec | None) -> EvalConfig:
    return EvalConfig(suite=suite, tasks=f"^{task}$", policy=policy, out=out, env=env,
                      first_seed=seed)


class _AnsweringModel:
    """Stands in for ``model.generate``: keeps the inputs it is given, answers from a list."""

    def __init__(self, backend, answers: list[str]) -> None:
        self.tokenizer = backend.processor.tokenizer
        self.answers = list(answers)
        self.inputs: list[dict] = []

    def __call__(self, **inputs):
        import torch

        self.inputs.append({k: v.clone() for k, v in inputs.items() if torch.is_tensor(v)})
        answer = self.tokenizer(self.answers.pop(0) + "<|im_end|>", add_special_tokens=False,
                                return_tensors="pt")["input_ids"]
        return torch.cat([inputs["input_ids"], answer], dim=1)


@pytest.mark.parametrize("suite", [
    "miniwob", pytest.param("android", marks=pytest.mark.android)])
def test_the_agent_sends_exactly_what_the_export_trains_on(suite, tiny_checkpoint, tmp_path, monkeypatch):
    import torch

    from qvl_agent.eval.sft.train import IGNORE, encode_sample, training_processor
    from qvl_agent.model.transformers_backend import TransformersBackend

    task, seed, env = CASES[suite]
    oracle, = run_eval(_config(suite, tmp_path / "oracle", PolicySpec(kind="oracle"), task, seed, env))
    assert oracle.outcome == "success", oracle.message
    result = run_cli("export", "sft", str(tmp_path / "oracle"), "--out", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (tmp_path / "data" / "train.jsonl").read_text().splitlines()]
    rows.sort(key=lambda row: row["step"])
    assert len(rows) >= 2  # a later step shows the earlier ones in its progress

    backend = TransformersBackend(str(tiny_checkpoint), device="cpu")
    model = _AnsweringModel(backend, [row["messages"][-1]["content"] for row in rows])
    monkeypatch.setattr(backend.model, "generate", model)
    monkeypatch.setattr(ModelOptions, "backend", lambda self: backend)
    # In this process (the model is patched), as one eval worker runs an instance.
    runner = InstanceRunner(_config(suite, tmp_path / "agent", PolicySpec(kind="qwen", model=ModelOptions(
        model=str(tiny_checkpoint))), task, seed, env))
    try:
        agent = runner.run(task, seed)
    finally:
        runner.close()
    assert agent.outcome == "success", agent.message  # the exported answers solve it in the agent
    assert len(model.inputs) == len(rows)

    processor = training_processor(tiny_checkpoint)
    for row, sent in zip(rows, model.inputs):
        trained = encode_sample(row, processor, tmp_path / "data")
        prompt = int((trained["labels"] != IGNORE).nonzero()[0])
        where = f"{task} step {row['step']}"
        assert sent["input_ids"][0].tolist() == trained["input_ids"][:prompt].tolist(), where
        assert sent["mm_token_type_ids"][0].tolist() == trained["mm_token_type_ids"][:prompt].tolist(), where
        assert sent["image_grid_thw"].tolist() == trained["image_grid_thw"].tolist(), where
        assert torch.equal(sent["pixel_values"], trained["pixel_values"]), where
