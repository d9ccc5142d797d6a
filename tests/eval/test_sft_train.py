"""How `train` computes a batch: the same loss and gradients as each sample alone, faster.

Samples come from runs made here (a fake screen, a scripted model), exported as usual; two
screen sizes make two system prompts, so batches mix and share prompts as real data does.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import QwenPolicy
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.fake import FakeEnv
from qvl_agent.eval.sft import PromptOptions, export_sft
from qvl_agent.eval.sft.prefix import grouped_batches
from qvl_agent.eval.sft.train import TINY_DEFAULTS, TrainOptions, resolve_options
from qvl_agent.model.scripted import ScriptedVLM

pytestmark = pytest.mark.model


def _call(action: str, **args) -> str:
    return "<tool_call>\n" + json.dumps({"name": "computer_use", "arguments": {"action": action, **args}}) + "\n</tool_call>"


@pytest.fixture(scope="module")
def samples(tmp_path_factory, tiny_checkpoint):
    from qvl_agent.eval.sft.train import encode_sample, training_processor

    root = tmp_path_factory.mktemp("batches")
    for n, (screen, goal) in enumerate([((640, 360), "click the box"), ((640, 360), "press it twice"),
                                        ((360, 640), "tap the red square")]):
        image = Image.new("RGB", screen, "white")
        ImageDraw.Draw(image).rectangle([40 + 30 * n, 50, 90 + 30 * n, 100], fill="red")
        env = FakeEnv(screen=screen, kind=EnvKind.browser, screenshot=image)
        policy = QwenPolicy(ScriptedVLM([_call("left_click", coordinate=[60 + 20 * n, 70]),
                                         _call("terminate", status="success")], max_pixels=200704),
                            "computer_use")
        run_episode(env, policy, goal, recorder=RunRecorder(root / "runs" / f"run{n}"))
    export_sft([root / "runs"], root / "data", options=PromptOptions(min_pixels=3136, max_pixels=200704))
    rows = [json.loads(line) for line in (root / "data" / "train.jsonl").read_text().splitlines()]
    processor = training_processor(tiny_checkpoint)
    return rows, [encode_sample(row, processor, root / "data") for row in rows]


@pytest.fixture(scope="module")
def network(tiny_checkpoint):
    from transformers import Qwen2_5_VLForConditionalGeneration

    return Qwen2_5_VLForConditionalGeneration.from_pretrained(tiny_checkpoint).train()


def _alone(network, sample):
    """The loss summed over one sample's answer tokens, the sample unpadded and whole."""
    import torch

    out = network(**{k: sample[k][None] for k in ("input_ids", "attention_mask", "mm_token_type_ids")},
                  pixel_values=sample["pixel_values"], image_grid_thw=sample["image_grid_thw"])
    learnt = sample["labels"][1:] != -100
    return torch.nn.functional.cross_entropy(out.logits[0, :-1][learnt], sample["labels"][1:][learnt],
                                             reduction="sum"), int(learnt.sum())


def _gradients(network, loss) -> dict:
    network.zero_grad()
    loss.backward()
    grads = {name: p.grad.clone() for name, p in network.named_parameters() if p.grad is not None}
    network.zero_grad()
    return grads


def test_a_padded_batch_and_a_shared_prefix_batch_learn_what_each_sample_teaches(samples, network):
    import torch

    from qvl_agent.eval.sft.prefix import add_positions, image_features, shared_prefix_loss
    from qvl_agent.eval.sft.train import _collate

    rows, encoded = samples
    assert len({row["messages"][0]["content"] for row in rows}) == 2  # two system prompts
    batch = [dict(sample) for sample in encoded]
    total, tokens = zip(*(_alone(network, sample) for sample in batch))
    reference = sum(total) / sum(tokens)
    expected = _gradients(network, reference)

    padded = network(**_collate(0)(batch)).loss  # left padding, logits of the answers only
    for sample in batch:
        add_positions(network, sample)
    shared = shared_prefix_loss(network, batch)
    for name, loss in (("padded", padded), ("shared prefix", shared)):
        assert loss.item() == pytest.approx(reference.item(), rel=1e-5), name
        got = _gradients(network, loss)
        assert got.keys() == expected.keys(), name
        for key in expected:
            assert torch.allclose(got[key], expected[key], atol=1e-6, rtol=1e-4), (name, key)

    frozen = [dict(sample, image_embeds=image_features(network, sample)) for sample in batch]
    for sample in frozen:
        del sample["pixel_values"]
    assert float(shared_prefix_loss(network, frozen)) == pytest.approx(float(reference), rel=1e-5)


def test_batches_keep_one_system_prompt_and_see_every_sample():
    keys = ["a"] * 11 + ["b"] * 5 + ["c"] * 2
    rng = random.Random(0)
    for _ in range(3):
        batches = grouped_batches(keys, 4, rng)
        assert all(len({keys[i] for i in batch}) == 1 for batch in batches)
        assert sorted({i for batch in batches for i in batch}) == list(range(len(keys)))
        assert [len(b) for b in batches].count(4) == len(batches) - 1  # only "c" is smaller
    exact = grouped_batches(keys, 4, rng, fill=False)
    assert sorted(i for batch in exact for i in batch) == list(range(len(keys)))


def test_balanced_batches_give_a_small_kind_of_screen_its_share():
    keys = ["miniwob"] * 1600 + ["phone"] * 16
    batches = grouped_batches(keys, 8, random.Random(0), balance=True)
    phone = [b for b in batches if keys[b[0]] == "phone"]
    assert len(batches) - len(phone) == 200 and len(phone) == 20  # 200 x sqrt(16 / 1600)
    assert all(len(b) == 8 and len({keys[i] for i in b}) == 1 for b in batches)
    seen = [i for b in phone for i in b]
    assert sorted(set(seen)) == list(range(1600, 1616)) and all(seen.count(i) == 10 for i in set(seen))
    assert sorted(i for b in batches if keys[b[0]] == "miniwob" for i in b) == list(range(1600))


@pytest.mark.parametrize("given, tiny, expected", [
    (TrainOptions(), True, dict(max_steps=TINY_DEFAULTS["max_steps"], learning_rate=3e-3, batch_size=8,
                                schedule="cosine", freeze_vision=True)),
    (TrainOptions(), False, dict(max_steps=-1, epochs=1.0, learning_rate=1e-5, batch_size=1,
                                 schedule="constant", freeze_vision=False)),
    (TrainOptions(lora=True), False, dict(learning_rate=1e-4)),
    (TrainOptions(epochs=3.0, learning_rate=1e-3), True, dict(max_steps=-1, epochs=3.0, learning_rate=1e-3)),
    (TrainOptions(max_steps=5, batch_size=2), True, dict(max_steps=5, batch_size=2, schedule="cosine")),
])
def test_defaults_follow_the_checkpoint_and_flags_win(given, tiny, expected):
    resolved = resolve_options(given, tiny)
    assert {key: getattr(resolved, key) for key in expected} == expected
    assert None not in (resolved.epochs, resolved.learning_rate, resolved.batch_size,
                        resolved.schedule, resolved.warmup, resolved.freeze_vision)
