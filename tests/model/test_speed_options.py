"""The local backend's speed options change how fast a step runs, never what it answers."""

import pytest
from PIL import Image, ImageDraw
from pydantic import ValidationError

from qvl_agent.model.frame import Frame
from qvl_agent.model.prefix_cache import PrefixCache
from qvl_agent.model.prompts import PastStep, agent_messages
from qvl_agent.model.transformers_backend import SpeedOptions, TransformersBackend

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    plain = TransformersBackend(str(tiny_checkpoint), device="cpu", max_pixels=200704)
    return plain.model, plain.processor


def _backend(loaded, **speed):
    model, processor = loaded
    return TransformersBackend.from_loaded(model, processor, name="tiny", device="cpu",
                                           max_pixels=200704, speed=SpeedOptions(**speed))


def _steps():
    """Two agent steps on different screens, with the same system prompt."""
    screens = []
    for box in [(100, 100, 300, 200), (700, 400, 900, 600)]:
        shot = Image.new("RGB", (1280, 720), "white")
        ImageDraw.Draw(shot).rectangle(box, fill="blue")
        frame = Frame.for_image(shot, (1280, 720), max_pixels=200704)
        screens.append(frame.resize(shot))
    call = '{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [10, 20]}}'
    history = [PastStep(call=call, answer=f"<tool_call>\n{call}\n</tool_call>")]
    return [agent_messages("computer_use", (588, 336), "click the blue box", screens[0]),
            agent_messages("computer_use", (588, 336), "click the blue box", screens[1], history)]


def _answers(backend):
    return [backend.generate(step, max_new_tokens=24, min_new_tokens=24).text for step in _steps()]


def test_prefix_cache_answers_exactly_as_the_plain_step_and_is_reused(loaded):
    plain = _answers(_backend(loaded))
    backend = _backend(loaded, prefix_cache=True)
    assert _answers(backend) == plain
    assert (backend._prefixes.misses, backend._prefixes.hits) == (1, 1)  # one system prompt


def _first_logits(model, inputs, cache=None):
    import torch

    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=2, do_sample=False, output_logits=True,
                             return_dict_in_generate=True, **({"cache": cache} if cache else {}))
    return torch.stack(out.logits)


def test_prefix_cache_gives_the_logits_of_the_whole_prompt(loaded, monkeypatch):
    # Answers of a random tiny model hardly depend on the prompt, so compare logits; and show
    # that a cache whose positions are off by one token would be caught.
    model, processor = loaded
    inputs = _backend(loaded).preprocess(_steps()[1])
    end = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    reference = _first_logits(model, inputs)
    reused = _first_logits(model, inputs, PrefixCache(model, end).cache_for(inputs["input_ids"]))
    assert (reused - reference).abs().max() < 1e-4

    original = PrefixCache._prefill

    def shifted(self, prefix):  # the first token twice, the last one lost: positions off by one
        import torch
        return original(self, torch.cat([prefix[:1], prefix[:-1]]))

    monkeypatch.setattr(PrefixCache, "_prefill", shifted)
    wrong = _first_logits(model, inputs, PrefixCache(model, end).cache_for(inputs["input_ids"]))
    assert (wrong - reference).abs().max() > 1e-3


def test_static_cache_answers_exactly_as_the_plain_step(loaded):
    assert _answers(_backend(loaded, static_cache=True, compile=False)) == _answers(_backend(loaded))


def test_static_and_prefix_cache_cannot_be_combined():
    with pytest.raises(ValidationError, match="cannot be combined"):
        SpeedOptions(static_cache=True, prefix_cache=True)


def test_an_answer_cut_at_the_token_budget_is_marked_truncated(loaded):
    backend = _backend(loaded)
    cut = backend.generate(_steps()[0], max_new_tokens=5, min_new_tokens=5)
    assert cut.completion_tokens == 5 and cut.truncated


def test_speedup_with_a_server_is_refused_not_ignored():
    from qvl_agent.model.options import ModelOptions

    with pytest.raises(ValidationError, match="--model .* only"):
        ModelOptions(endpoint="http://127.0.0.1:9/v1", speedup="compile")


@pytest.mark.parametrize("name,expected", [
    ("none", SpeedOptions()), ("prefix-cache", SpeedOptions(prefix_cache=True)),
    ("static-cache", SpeedOptions(static_cache=True, compile=False)),
    ("compile", SpeedOptions(static_cache=True, compile=True))])
def test_the_speedup_option_reaches_the_local_backend(tiny_checkpoint, name, expected):
    from qvl_agent.model.options import ModelOptions

    backend = ModelOptions(model=str(tiny_checkpoint), torch_device="cpu", max_pixels=200704,
                           speedup=name).backend()
    assert backend.speed == expected
    assert (backend._prefixes is not None) == expected.prefix_cache
