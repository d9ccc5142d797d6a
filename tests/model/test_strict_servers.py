"""Servers that refuse request fields by name (transformers serve, strict gateways).

The sampling settings go where the server takes them; a field refused everywhere is dropped,
said once, and the run goes on. Against our fake in its strict form here, and against a real
``transformers serve`` in tests/model/test_transformers_serve.py.
"""

import pytest

from qvl_agent.envs.base import Size
from qvl_agent.envs.errors import ModelUnavailableError
from qvl_agent.model.frame import Frame
from qvl_agent.model.openai_backend import OpenAIBackend
from qvl_agent.model.prompts import agent_messages
from qvl_agent.model.sampling import refused_fields
from tests.conftest import run_cli
from tests.fakeqwen import OPENAI_FIELDS, FakeQwen, tool_call
from tests.model.test_token_check import screenshot


def answer(request):
    return tool_call(action="left_click", coordinate=[10, 10])


def messages():
    frame = Frame.for_image(screenshot(), Size(width=1920, height=1080))
    return agent_messages("computer_use", frame.size, "press the button", frame.resize(screenshot()))


def test_a_refused_field_is_named_in_the_usual_forms():
    assert refused_fields("Unexpected fields in the request: {'repetition_penalty'}",
                          {"repetition_penalty"}) == {"repetition_penalty"}
    assert refused_fields('unknown field `repetition_penalty`, expected one of ...',
                          {"repetition_penalty"}) == {"repetition_penalty"}
    # A refusal that does not name the field is a real refusal, not an unknown field.
    assert refused_fields("repetition_penalty must be positive", {"repetition_penalty"}) == set()


def test_generation_config_carries_the_setting_where_the_field_is_refused():
    strict = OPENAI_FIELDS | {"generation_config"}  # as transformers serve
    with FakeQwen(answer, accepted_fields=strict) as server:
        backend = OpenAIBackend(server.url)
        backend.generate(messages())
        backend.generate(messages())
    assert server.refusals == [{"repetition_penalty"}]  # asked once, then remembered
    assert server.requests[-1].body["generation_config"] == '{"repetition_penalty": 1.05}'
    assert backend.sampling.form == "generation_config"
    assert len(backend.notices) == 1 and "goes in generation_config" in backend.notices[0]


def test_a_field_refused_everywhere_is_dropped_and_said_once():
    with FakeQwen(answer, accepted_fields=OPENAI_FIELDS) as server:
        backend = OpenAIBackend(server.url)
        backend.generate(messages())
        backend.generate(messages())
    assert server.refusals == [{"repetition_penalty"}, {"generation_config"}]
    assert "repetition_penalty" not in server.requests[-1].body
    assert len(backend.notices) == 1
    assert "requests go without them" in backend.notices[0]
    assert "repetition_penalty 1.05" in backend.notices[0]


def test_a_refusal_that_names_no_field_of_ours_still_stops_the_run():
    with FakeQwen(answer, failures=[400]) as server:
        with pytest.raises(ModelUnavailableError, match=r"refused the request \(400\): injected"):
            OpenAIBackend(server.url).generate(messages())


@pytest.mark.slow
def test_run_and_doctor_through_a_strict_server(tmp_path):
    with FakeQwen(answer, accepted_fields=OPENAI_FIELDS) as server:
        doctor = run_cli("doctor", "--endpoint", server.url)
        run = run_cli("run", "click it", "--env", "browser", "--endpoint", server.url,
                      "--max-steps", "1", "--out", str(tmp_path / "run"))
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    row = next(line for line in doctor.stdout.splitlines() if "generation settings" in line)
    assert row.startswith("warn") and "repetition_penalty refused" in row
    assert "refused the request" not in run.stderr, run.stderr
    assert run.stderr.count("warning: the model server at") == 1
    assert "max_steps" in run.stdout  # the run went on: one step, a click
