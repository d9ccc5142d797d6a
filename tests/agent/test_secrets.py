"""Secrets: where they come from, what the model and the records see, where they may be typed."""

from __future__ import annotations

import json

import pytest

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import QwenPolicy
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.secrets import (
    Place, Secrets, load_secrets_file, parse_secret_option, secret_from,
)
from qvl_agent.envs.actions import TypeText
from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.errors import ConfigError, EnvError, SecretRefusedError
from qvl_agent.envs.fake import FakeEnv
from qvl_agent.model.scripted import ScriptedVLM
from tests.fakeqwen import tool_call

VALUE = "pa$$ w0rd&more"
RFC6238_SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"
DONE = tool_call(action="terminate", status="success")


def _type(text: str, tool: str = "computer_use") -> str:
    return tool_call(tool, action="type", text=text)


# -- where secrets come from --------------------------------------------------------------

def test_a_secret_option_names_a_value_a_variable_and_places():
    given = parse_secret_option(f"PASSWORD={VALUE}")
    assert given.name == "PASSWORD" and given.typed() == VALUE and given.scopes == ()
    from_env = parse_secret_option("PIN@Bank.Example,https://*.pay.example/login",
                                   {"QVL_SECRET_PIN": "1234"})
    assert from_env.typed() == "1234" and from_env.scopes == ("bank.example", "pay.example")
    assert VALUE not in repr(given) and VALUE not in str(Secrets([given]))
    with pytest.raises(ConfigError, match="QVL_SECRET_TOKEN is not set; export it, or write --secret TOKEN=VALUE"):
        parse_secret_option("TOKEN", {})
    with pytest.raises(ConfigError, match="is not a secret name"):
        parse_secret_option("9LIVES=x")
    with pytest.raises(ConfigError, match="given twice"):
        Secrets([given, parse_secret_option("PASSWORD=other")])


def test_a_secrets_file_is_dotenv_taken_literally_and_refused_when_others_may_read_it(tmp_path):
    path = tmp_path / "secrets.env"
    path.write_text("# mine\nexport PASSWORD='pa$$ ${HOME} w0rd'\nPIN@com.bank.app=\"12 34\"\n\n"
                    "API_KEY=abc#def # a comment\n")
    path.chmod(0o600)
    secrets = {s.name: s for s in load_secrets_file(path)}
    assert secrets["PASSWORD"].typed() == "pa$$ ${HOME} w0rd"  # no expansion
    assert secrets["PIN"].typed() == "12 34" and secrets["PIN"].scopes == ("com.bank.app",)
    assert secrets["API_KEY"].typed() == "abc#def"
    path.chmod(0o640)
    with pytest.raises(ConfigError, match=r"others may read it \(mode -rw-r-----\); run `chmod 600"):
        load_secrets_file(path)
    path.write_text("PASSWORD\n")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match=r"secrets.env:1: PASSWORD has no value"):
        load_secrets_file(path)
    with pytest.raises(ConfigError, match="no such file"):
        load_secrets_file(tmp_path / "missing.env")


def test_totp_secrets_type_the_rfc_6238_code():
    seed = secret_from("BANK_TOTP", RFC6238_SEED, "test")
    assert seed.totp and seed.typed(at=59) == "287082" and seed.typed(at=1111111109) == "081804"
    uri = secret_from("OTP", f"otpauth://totp/Bank:alice?secret={RFC6238_SEED}&digits=8", "test")
    assert uri.totp and uri.typed(at=59) == "94287082"
    sha256 = secret_from("OTP", "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3"
                         "TQOJQGEZA&digits=8&algorithm=SHA256", "test")
    assert sha256.typed(at=59) == "46119246"  # RFC 6238's SHA-256 vector
    assert secret_from("X_TOTP", "JBSWY3DPEHPK3PXP", "t").typed().isdigit()  # 80-bit seeds exist
    with pytest.raises(ConfigError, match="not a base32 seed"):
        secret_from("X_TOTP", "not a seed!", "test")


def test_redaction_covers_url_encoded_values_and_typed_codes():
    secrets = Secrets([secret_from("PASSWORD", VALUE, "t"), secret_from("OTP_TOTP", RFC6238_SEED, "t")])
    code = secrets.reveal("<secret:OTP_TOTP>", Place())
    text = f"GET /login?p=pa%24%24+w0rd%26more&q=pa%24%24%20w0rd%26more {VALUE} code {code}"
    assert secrets.redact(text) == ("GET /login?p=<secret:PASSWORD>&q=<secret:PASSWORD> "
                                    "<secret:PASSWORD> code <secret:OTP_TOTP>")


def test_places_decide_where_a_bound_secret_may_be_typed():
    secrets = Secrets([secret_from("PIN@bank.example,com.bank.app", "1234", "t")])
    for place in (Place(site="bank.example"), Place(site="www.bank.example"), Place(app="com.bank.app")):
        assert secrets.reveal("pin <secret:PIN>", place) == "pin 1234"
    for place in (Place(site="evilbank.example"), Place(site="bank.example.evil"),
                  Place(app="com.bank.app.fake"), Place()):
        with pytest.raises(SecretRefusedError) as refused:
            secrets.reveal("<secret:PIN>", place)
        assert "1234" not in str(refused.value)
    with pytest.raises(SecretRefusedError, match="no secret named OTHER; the secrets you may type are: <secret:PIN>"):
        secrets.reveal("<secret:OTHER>", Place(site="bank.example"))


# -- in the loop --------------------------------------------------------------------------

class Phone(FakeEnv):
    """A fake phone whose observations say which app is in front, as AndroidEnv's do."""

    def __init__(self, app: str) -> None:
        super().__init__((1080, 2400), kind=EnvKind.android)
        self.app = app

    def observe(self):
        observation = super().observe()
        return observation.model_copy(update={"extras": {"app": self.app}})


def _run(env, answers, secrets, tmp_path=None, goal="sign in", tool="computer_use", **kw):
    backend = ScriptedVLM(answers)
    recorder = RunRecorder(tmp_path / "run") if tmp_path else None
    trajectory = run_episode(env, QwenPolicy(backend, tool), goal, secrets=secrets,
                             recorder=recorder, **kw)
    texts = [json.dumps(messages, default=str) for messages in backend.requests]
    return trajectory, texts


def test_the_env_alone_gets_the_value_and_the_model_the_placeholder(tmp_path):
    env = FakeEnv()
    meta_while_running = []

    def on_step(step, trajectory):  # a run killed now leaves this meta.json behind
        meta_while_running.append((tmp_path / "run" / "meta.json").read_text())

    trajectory, texts = _run(env, [_type("<secret:PASSWORD>\n"), DONE], {"PASSWORD": VALUE},
                             tmp_path, goal=f"sign in with the password {VALUE}", on_step=on_step)
    assert meta_while_running and all(VALUE not in meta for meta in meta_while_running)
    assert env.executed == [TypeText(text=VALUE + "\n")]
    assert trajectory.steps[0].action == TypeText(text="<secret:PASSWORD>\n")
    assert trajectory.meta.goal == "sign in with the password <secret:PASSWORD>"
    assert all(VALUE not in text for text in texts)
    assert "sign in with the password <secret:PASSWORD>\\nSecrets you may type" in texts[0]
    for path in (tmp_path / "run").iterdir():
        assert VALUE.encode() not in path.read_bytes(), path.name


def test_an_app_bound_secret_is_typed_in_its_app_and_refused_elsewhere():
    secrets = {"PIN@com.bank.app": "1234"}
    answers = [_type("<secret:PIN>", "mobile_use"), tool_call("mobile_use", action="terminate",
                                                             status="success")]
    phone = Phone("com.bank.app")
    trajectory, _ = _run(phone, answers, secrets, tool="mobile_use")
    assert phone.executed == [TypeText(text="1234")] and trajectory.status == "success"

    phone = Phone("com.evil.app")
    trajectory, texts = _run(phone, answers, secrets, tool="mobile_use")
    assert phone.executed == [] and trajectory.status == "success"
    assert trajectory.steps[0].error_kind == "SecretRefusedError"
    assert ("<secret:PIN> may only be typed on com.bank.app, and typing now goes to com.evil.app"
            in texts[1])


def test_a_bound_secret_is_refused_where_the_screen_cannot_say_where_typing_goes():
    desktop = FakeEnv(kind=EnvKind.desktop)
    trajectory, texts = _run(desktop, [_type("<secret:PIN>"), DONE], {"PIN@bank.example": "1234"})
    assert desktop.executed == [] and trajectory.steps[0].error_kind == "SecretRefusedError"
    assert "a screen that does not say which site or app is in front" in texts[1]


class Failing(FakeEnv):
    def _execute(self, action) -> None:
        raise EnvError(f"`input text {action.text}` failed with exit code 1")


def test_an_error_that_quotes_the_typed_text_is_recorded_without_the_value(tmp_path):
    trajectory, _ = _run(Failing(), [_type("<secret:PASSWORD>")], {"PASSWORD": VALUE}, tmp_path)
    assert trajectory.status == "error"
    assert trajectory.meta.message == "`input text <secret:PASSWORD>` failed with exit code 1"
    assert trajectory.steps[0].error == trajectory.meta.message
    for path in (tmp_path / "run").iterdir():
        assert VALUE.encode() not in path.read_bytes(), path.name


def test_without_secrets_a_placeholder_is_plain_text():
    env = FakeEnv()
    _run(env, [_type("<secret:X>"), DONE], None)
    assert env.executed == [TypeText(text="<secret:X>")]


class Buggy(FakeEnv):
    def _execute(self, action) -> None:
        raise RuntimeError(f"cannot type {action.text!r}")


def test_a_bug_that_quotes_the_typed_text_is_raised_without_the_value():
    with pytest.raises(RuntimeError) as raised:
        _run(Buggy(), [_type("<secret:PASSWORD>")], {"PASSWORD": VALUE})
    assert str(raised.value) == "cannot type '<secret:PASSWORD>'"  # what the CLI would print
    assert raised.value.__context__ is None


SEED = "JBSWY3DPEHPK3PXP"  # a base32 TOTP seed


def test_every_form_a_value_takes_in_a_record_is_redacted_longest_first():
    secrets = Secrets([secret_from("SHORT", "a/b", "test"), secret_from("PATH_KEY", "a/b c", "test"),
                       secret_from("PLUS", "x+y", "test"), secret_from("PCT", "5%", "test")])
    assert secrets.redact("rate=5%25") == "rate=<secret:PCT>"  # the encoded form before the value in it
    assert secrets.redact("url ?k=a%2Fb%20c&j=a%2Fb+c") == "url ?k=<secret:PATH_KEY>&j=<secret:PATH_KEY>"
    assert secrets.redact("typed a/b c, then a/b") == "typed <secret:PATH_KEY>, then <secret:SHORT>"
    assert secrets.redact("q=x%2By and x+y") == "q=<secret:PLUS> and <secret:PLUS>"
    assert secrets.redact("") == "" and Secrets([]).redact("a/b") == "a/b"


def test_a_totp_code_typed_or_near_now_is_masked_and_redacted():
    import time

    totp = secret_from("BANK_TOTP", SEED, "test")
    secrets = Secrets([secret_from("PIN", "4321", "test"), totp])
    assert not secrets.typed_any
    assert secrets.reveal("no secret here", Place()) == "no secret here" and not secrets.typed_any
    code = secrets.reveal("<secret:BANK_TOTP>", Place())
    assert code.isdigit() and secrets.typed_any
    secrets.reveal("plain again", Place())
    assert secrets.typed_any  # once typed, the run has typed a secret
    assert secrets.redact(f"the field shows {code}") == "the field shows <secret:BANK_TOTP>"
    assert secrets.redact(f"seed {SEED}") == "seed <secret:BANK_TOTP>"  # the seed itself too
    pairs = secrets.mask_values()
    assert ("PIN", "4321") in pairs
    assert {c for n, c in pairs if n == "BANK_TOTP"} == set(totp.codes_near(time.time()))
    assert len(pairs) == 5


def test_an_unknown_or_misplaced_secret_is_refused_with_what_may_be_typed():
    secrets = Secrets([secret_from("MAIL@example.com,example.org", "pw", "test"),
                       secret_from("PIN", "1", "test")])
    with pytest.raises(SecretRefusedError, match=r"^there is no secret named NOPE; the secrets you "
                                                 r"may type are: <secret:MAIL>, <secret:PIN>$"):
        secrets.reveal("<secret:NOPE>", Place())
    with pytest.raises(SecretRefusedError, match=r"the secrets you may type are: none$"):
        Secrets([]).reveal("<secret:NOPE>", Place())
    with pytest.raises(SecretRefusedError, match=r"^<secret:MAIL> may only be typed on example\.com or "
                                                 r"example\.org, "
                                                 r"and typing now goes to evil\.test; it was not typed\. "
                                                 r"Go to the right place first, or do the task without it$"):
        secrets.reveal("<secret:MAIL>", Place(site="evil.test"))
    assert secrets.uses("<secret:MAIL> and <secret:PIN>") == ["MAIL", "PIN"]
