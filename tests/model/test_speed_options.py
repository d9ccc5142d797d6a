"""The local backend's speed options change how fast a step runs, never what it answers."""

import pytest
from PIL import Image, ImageDraw
from pydantic import ValidationError

from qvl_agent.model.frame import Frame
from qvl_agent.model.prompts import PastStep, agent_messages
from qvl_agent.model.transformers_backend import SPEEDUPS, SpeedOptions, TransformersBackend

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    plain = TransformersBackend(str(tiny_checkpoint), device="cpu", max_pixels=200704)
    return plain.model, plain.processor


def _backend(loaded, speed):
    model, processor = loaded
    return TransformersBackend.from_loaded(model, processor, name="tiny", device="cpu",
                                           max_pixels=200704, speed=speed)


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


def _answers(backend, forced=True, steps=2):
    return [backend.generate(step, max_new_tokens=12, min_new_tokens=12 if forced else None)
            for step in _steps()[:steps]]


@pytest.fixture(scope="module")
def penalised(loaded):
    """A repetition penalty, as the Instruct checkpoints' generation config has (1.05; stronger
    here, so that it changes the tiny model's answers)."""
    model, _ = loaded
    before = model.generation_config.repetition_penalty
    model.generation_config.repetition_penalty = 1.5
    yield
    model.generation_config.repetition_penalty = before


@pytest.fixture(scope="module")
def plain_answers(loaded, penalised):
    return [g.text for g in _answers(_backend(loaded, SpeedOptions()))]


@pytest.mark.parametrize("name", [n for n in SPEEDUPS if n != "none"])
def test_every_speedup_answers_exactly_as_plain_generate(loaded, plain_answers, name):
    backend = _backend(loaded, SpeedOptions.named(name, "cpu"))
    assert [g.text for g in _answers(backend)] == plain_answers


def test_the_static_decode_stops_where_generate_stops(loaded, penalised, monkeypatch):
    # A random model never says <|im_end|>; make the id it says fourth end the turn instead.
    model, _ = loaded
    plain, fast = _backend(loaded, SpeedOptions()), _backend(loaded, SpeedOptions.named("compile"))
    fourth = fast.decoder.generate(fast.preprocess(_steps()[0]), max_new_tokens=4)[-1]
    monkeypatch.setattr(model.generation_config, "eos_token_id", [fourth])
    fast = _backend(loaded, SpeedOptions.named("compile"))  # reads the end ids when made
    ended = _answers(fast, forced=False, steps=1)[0]
    assert ended.completion_tokens <= 4 and not ended.truncated
    assert ended.text == _answers(plain, forced=False, steps=1)[0].text
    # ... and min_new_tokens still holds the end back
    assert _answers(fast, steps=1)[0].completion_tokens == 12


def test_each_decoded_token_has_the_logits_of_a_full_forward(loaded, monkeypatch):
    # Greedy answers of a random model hide small mistakes (a token not seeing itself, a
    # position off by one); the logits do not.
    import torch

    from qvl_agent.model.static_decode import _Slot

    model, _ = loaded
    backend = _backend(loaded, SpeedOptions(static_cache=True))
    inputs = backend.preprocess(_steps()[1])
    seen, choose = [], _Slot._choose
    monkeypatch.setattr(_Slot, "_choose", lambda self, logits: (seen.append(logits.clone()), choose(self, logits)))
    tokens = backend.decoder.generate(inputs, max_new_tokens=4)
    ids = torch.cat([inputs["input_ids"], torch.tensor([tokens[:-1]])], dim=1)
    types = torch.cat([inputs["mm_token_type_ids"], torch.zeros(1, 3, dtype=torch.long)], dim=1)
    with torch.inference_mode():
        full = model(input_ids=ids, mm_token_type_ids=types, pixel_values=inputs["pixel_values"],
                     image_grid_thw=inputs["image_grid_thw"]).logits[0, -4:].float()
    assert (torch.cat(seen) - full).abs().max() < 1e-4


def test_the_prefix_cache_is_filled_once_and_reused(loaded, penalised):
    backend = _backend(loaded, SpeedOptions.named("prefix-cache"))
    _answers(backend)
    assert (backend.prefixes.misses, backend.prefixes.hits) == (1, 1)  # one system prompt


def _first_logits(backend, inputs):
    import torch

    with torch.inference_mode():
        return backend.decoder.slot(2048).prefill(inputs, backend.prefixes)


def test_the_prefix_cache_gives_the_logits_of_the_whole_prompt(loaded, monkeypatch):
    # Answers of a random tiny model hardly depend on the prompt, so compare logits; and show
    # that a cache whose positions are off by one token would be caught.
    from qvl_agent.model.prefix_cache import PrefixCache

    whole = _backend(loaded, SpeedOptions(static_cache=True))
    inputs = whole.preprocess(_steps()[1])
    reference = _first_logits(whole, inputs)
    reused = _first_logits(_backend(loaded, SpeedOptions.named("prefix-cache")), inputs)
    assert (reused - reference).abs().max() < 1e-4

    original = PrefixCache._prefill

    def shifted(self, prefix):  # the first token twice, the last one lost: positions off by one
        import torch
        return original(self, torch.cat([prefix[:1], prefix[:-1]]))

    monkeypatch.setattr(PrefixCache, "_prefill", shifted)
    wrong = _first_logits(_backend(loaded, SpeedOptions.named("prefix-cache")), inputs)
    assert (wrong - reference).abs().max() > 1e-3


def test_a_generation_config_the_loop_cannot_follow_keeps_generate(loaded, plain_answers, monkeypatch, capsys):
    model, _ = loaded
    monkeypatch.setattr(model.generation_config, "no_repeat_ngram_size", 3)
    expected = _answers(_backend(loaded, SpeedOptions()), steps=1)[0].text
    backend = _backend(loaded, SpeedOptions.named("compile"))
    assert backend.decoder is None
    assert "no_repeat_ngram_size=3" in capsys.readouterr().err
    assert _answers(backend, steps=1)[0].text == expected


def test_the_decode_step_reads_nothing_back_to_the_host(tiny_checkpoint):
    # What a CUDA graph needs, checked without a GPU: on the meta device every value that
    # would be read back (.item(), .tolist(), a data-dependent shape) raises.
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    from qvl_agent.model.static_decode import StaticDecoder

    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(tiny_checkpoint).eval().to("meta")
    slot = StaticDecoder(model, graphs=False).slot(2048)
    with torch.inference_mode():
        slot.advance()
        with pytest.raises((NotImplementedError, RuntimeError)):
            slot.prefill({"input_ids": torch.zeros(1, 8, dtype=torch.long, device="meta"),
                          "mm_token_type_ids": torch.zeros(1, 8, dtype=torch.long, device="meta")}, None)


def test_the_decode_step_compiles_as_one_graph(loaded):
    # On CUDA the step is compiled before capture; a graph break would split it (or fail the
    # capture). Dynamo's tracing is the same on the CPU; the eager backend skips code generation.
    import torch

    from qvl_agent.model.static_decode import StaticDecoder

    model, _ = loaded
    slot = StaticDecoder(model, graphs=False).slot(2048)
    with torch.inference_mode():
        torch.compile(type(slot)._step, fullgraph=True, dynamic=False, backend="eager")(slot)


def test_auto_is_the_fast_path_on_cuda_and_plain_elsewhere():
    assert SpeedOptions.named("auto", "cpu") == SpeedOptions.named("auto", "mps") == SpeedOptions()
    fast = SpeedOptions.named("auto", "cuda")
    assert fast.static_cache and fast.cuda_graphs and fast.prefix_cache


def test_graphs_and_prefix_need_the_static_cache():
    with pytest.raises(ValidationError, match="set static_cache"):
        SpeedOptions(cuda_graphs=True)
    with pytest.raises(ValidationError, match="set static_cache"):
        SpeedOptions(prefix_cache=True)


def test_an_answer_cut_at_the_token_budget_is_marked_truncated(loaded):
    for speed in (SpeedOptions(), SpeedOptions.named("compile")):
        cut = _backend(loaded, speed).generate(_steps()[0], max_new_tokens=5, min_new_tokens=5)
        assert cut.completion_tokens == 5 and cut.truncated


def test_speedup_with_a_server_is_refused_not_ignored():
    from qvl_agent.model.options import ModelOptions

    with pytest.raises(ValidationError, match="--model .* only"):
        ModelOptions(endpoint="http://127.0.0.1:9/v1", speedup="compile")
    assert ModelOptions(endpoint="http://127.0.0.1:9/v1").speedup == "auto"  # the default is fine


@pytest.mark.parametrize("name", SPEEDUPS)
def test_the_speedup_option_reaches_the_local_backend(tiny_checkpoint, name):
    from qvl_agent.model.options import ModelOptions

    backend = ModelOptions(model=str(tiny_checkpoint), torch_device="cpu", max_pixels=200704,
                           speedup=name).backend()
    expected = SpeedOptions.named(name, "cpu")
    assert backend.speed == expected
    assert (backend.decoder is not None) == expected.static_cache
    assert (backend.prefixes is not None) == expected.prefix_cache
    assert backend.vision_windows == "batched"
