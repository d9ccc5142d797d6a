"""``Guard``: what stands between the model's action and the screen, and between a run and
its records.

For each step it masks where a typed secret shows (the model and the run directory see the
mask), refuses a ``<secret:NAME>`` bound to another site or app, asks the person before a
risky action, turns placeholders into values for ``env.execute`` alone, holds the run when
a pause was asked for, and takes every secret value out of what is recorded.
"""

from __future__ import annotations

from typing import Any

from qvl_agent.agent.oversight import Oversight, StopRun
from qvl_agent.agent.screen_facts import focused_text, mask_boxes, secret_boxes, target_text, typing_place
from qvl_agent.agent.secrets import PLACEHOLDER, Secrets, model_goal
from qvl_agent.agent.trajectory import RunMeta, Step, now_iso
from qvl_agent.envs.actions import Action, Answer, Click, Drag, LongPress, MoveTo, TypeText
from qvl_agent.envs.base import Env, Observation

__all__ = ["Guard", "REFUSED_KIND"]

REFUSED_KIND = "RefusedByUser"  # error_kind of a step whose action the person refused


class Guard:
    def __init__(self, env: Env, secrets: Secrets | None = None,
                 oversight: Oversight | None = None) -> None:
        self.env = env
        self.secrets = secrets if secrets else None
        self.oversight = oversight
        self._observation: Observation | None = None
        self.screenshot: str | None = None  # the file of the screen the model last decided on

    def describe(self, meta: RunMeta) -> None:
        """Record in ``meta`` which secrets (names only) and which confirmations the run has."""
        meta.goal = self.redact(meta.goal)  # a value pasted into the goal is not kept
        if self.secrets:
            meta.options["secrets"] = [info.model_dump() for info in self.secrets.infos]
        if self.oversight is not None:
            meta.options["confirm"] = self.oversight.mode

    def goal(self, goal: str) -> str:
        """The goal as the model gets it: redacted, with the line naming its secrets."""
        goal = self.redact(goal)
        return model_goal(goal, self.secrets.infos) if self.secrets else goal

    def observe(self, observation: Observation) -> Observation:
        """``observation`` with every place that shows a secret masked."""
        self._observation = observation
        if not self.secrets:
            return observation
        boxes = secret_boxes(self.env, observation, self.secrets.mask_values(),
                             self.secrets.typed_any)
        if not boxes:
            return observation
        masked = observation.model_copy(update={"screenshot": mask_boxes(observation.screenshot, boxes)})
        self._observation = masked
        return masked

    def admit(self, step: Step, action: Action) -> Action | None:
        """The action to execute, placeholders replaced by values; None if the person said no.

        Raises:
            SecretRefusedError: a secret the model may not type here (fed back to it).
            StopRun: the person stopped the run.
        """
        secret = isinstance(action, TypeText) and bool(PLACEHOLDER.search(action.text))
        if secret and self.secrets:  # checked before asking: a refusal needs nobody
            self.secrets.reveal(action.text, typing_place(self.env, self._observation))
        oversight = self.oversight
        if oversight is not None and oversight.mode != "never":
            target = self._target(action)
            target = self.redact(target) if target else target  # a field may show a value
            reason = oversight.risk(action, secret=secret and bool(self.secrets), target=target)
            if reason is not None and not oversight.ask(step, reason, target, self.screenshot):
                step.error = "the user refused this action"
                step.error_kind = REFUSED_KIND
                return None
        return self.reveal(action)  # again: a TOTP code is read the moment it is typed

    def reveal(self, action: Action) -> Action:
        """``action`` with its placeholders replaced by values (SecretRefusedError if bound
        elsewhere); anything but a TypeText with a placeholder is returned as it is."""
        if not self.secrets or not isinstance(action, TypeText) or not PLACEHOLDER.search(action.text):
            return action
        place = typing_place(self.env, self._observation)
        return TypeText(text=self.secrets.reveal(action.text, place))

    def execute(self, action: Action) -> None:
        """``env.execute`` of the revealed action; an error's message keeps no value."""
        try:
            self.env.execute(self.reveal(action))
        except Exception as exc:
            raise self.scrub(exc)

    def pause(self, index: int) -> Step | None:
        """A person's turn, if one was asked for, to be recorded; its ``human.decision`` is
        ``stop`` when they stopped the run (StopRun, or Ctrl-C again while deciding)."""
        if self.oversight is None or not self.oversight.pause_requested():
            return None
        step = Step(index=index, started_at=now_iso())
        try:
            self.oversight.hold(step)
        except (StopRun, KeyboardInterrupt):
            pass  # hold recorded the decision: stop
        return self.redact_step(step)

    def _target(self, action: Action) -> str | None:
        match action:
            case Click(at=at) | LongPress(at=at) | MoveTo(at=at):
                return target_text(self.env, at)
            case Drag(start=start):
                return target_text(self.env, start)
            case TypeText():
                return focused_text(self.env)
        return None

    # -- keeping values out of records ----------------------------------------------------

    def redact(self, text: str) -> str:
        return self.secrets.redact(text) if self.secrets else text

    def redact_value(self, value: Any) -> Any:
        """``value`` (text, or lists and dicts holding text) with every secret value replaced
        by its placeholder: a result a step read off the screen or out of a page."""
        return self._clean(value)

    def redact_step(self, step: Step) -> Step:
        """``step`` with every secret value replaced by its placeholder (in place)."""
        if not self.secrets:
            return step
        step.raw = self._clean(step.raw)
        step.error = self._clean(step.error)
        step.warning = self._clean(step.warning)
        step.call = self._clean(step.call)
        step.extras = self._clean(step.extras)
        if isinstance(step.action, (TypeText, Answer)):
            step.action = step.action.model_copy(update={"text": self.redact(step.action.text)})
        if step.confirmation is not None:
            step.confirmation.target = self._clean(step.confirmation.target)
        if step.human is not None:
            step.human.advice = self._clean(step.human.advice)
        return step

    def redact_meta(self, meta: RunMeta) -> None:
        meta.goal = self.redact(meta.goal)
        meta.options = self._clean(meta.options)
        meta.answer = self._clean(meta.answer)
        meta.message = self._clean(meta.message)

    def scrub(self, exc: BaseException) -> BaseException:
        """``exc`` with secret values taken out of its message (it may quote a command)."""
        if self.secrets and exc.args:
            exc.args = tuple(self._clean(a) for a in exc.args)
            exc.__context__ = exc.__cause__ = None
        return exc

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._clean(v) for v in value)
        return value
