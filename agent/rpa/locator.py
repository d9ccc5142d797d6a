"""``Locator``: cache first (verified), then the grounders in order; counts what it costs."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image
from pydantic import BaseModel

from qvl_agent.agent.rpa.cache import CachedElement, TaskCache, image_patch
from qvl_agent.agent.rpa.grounders import (
    Grounder, QwenGrounder, Target, dom_element_at, dom_element_by_xpath,
)
from qvl_agent.agent.rpa.steps import LocateParam
from qvl_agent.agent.rpa.verify import image_xy, verify
from qvl_agent.agent.rpa.yamldoc import shorten
from qvl_agent.envs.base import Env, Observation
from qvl_agent.envs.errors import ModelBehaviorError
from qvl_agent.model.backend import DEFAULT_MAX_NEW_TOKENS, Generation, VLMBackend

__all__ = ["Stats", "CountingBackend", "Locator", "NotFound"]


class Stats(BaseModel):
    """What a run cost, for ``meta.json``."""

    model_calls: int = 0
    locate_calls: int = 0
    cache_hits: int = 0
    cache_misses: int = 0


class NotFound(ModelBehaviorError):
    """No grounder found the target (a step failure, not a crash)."""


class CountingBackend:
    """A backend that counts every request it passes on."""

    def __init__(self, backend: VLMBackend, stats: Stats) -> None:
        self._backend, self._stats = backend, stats
        self.name = backend.name
        self.min_pixels, self.max_pixels = backend.min_pixels, backend.max_pixels

    def generate(self, messages: list, *, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> Generation:
        self._stats.model_calls += 1
        return self._backend.generate(messages, max_new_tokens=max_new_tokens)


class Locator:
    """Finds targets on ``env``'s screen.

    Args:
        grounders: tried in order; the first that finds the target wins.
        cache: the script's cache, or None when the script has no ``agent.cache``.
        browser: the screen is a browser page (entries are checked by XPath and text).
    """

    def __init__(self, env: Env, grounders: list[Grounder], cache: TaskCache | None,
                 stats: Stats, *, browser: bool, model_hint: str = "") -> None:
        self.env, self.grounders, self.cache, self.stats = env, grounders, cache, stats
        self.browser = browser
        self.model_hint = model_hint

    def locate(self, wanted: LocateParam, observation: Observation,
               references: Sequence[tuple[str, Image.Image]] = ()) -> tuple[Target, str | None]:
        """The target and what the cache said: ``hit``, ``miss``, ``stale`` or None (unused).

        A web page's ``xpath`` is tried first (Midscene's order), then the cache, then the
        grounders; a prompt with reference images goes to the model alone (the offline
        grounders match words and would ignore the pictures)."""
        if wanted.xpath and self.browser:
            by_xpath = dom_element_by_xpath(self.env, wanted.xpath)
            if by_xpath is not None:
                by_xpath.grounder = "xpath"
                return by_xpath, None
        use_cache = self.cache is not None and wanted.cacheable
        matched = self.cache.match(wanted.key) if use_cache else None  # type: ignore[union-attr]
        state: str | None = None
        if matched is not None:
            target = self._verify(matched[1].cache, observation)  # type: ignore[arg-type]
            if target is not None:
                self.stats.cache_hits += 1
                return target, "hit"
            state = "stale"
        elif use_cache:
            state = "miss"
        if use_cache:
            self.stats.cache_misses += 1
        target = self.find(wanted, observation, references)
        if target is None:
            grounders = self._for(wanted)
            tried = ", ".join(g.name for g in grounders) or "none"
            hint = self.model_hint if not any(g.name == "qwen" for g in grounders) else ""
            raise NotFound(f"could not find {shorten(wanted.prompt, 120)} on the screen "
                           f"(tried: {tried}){hint}")
        if use_cache:
            element = self._element(target, observation)
            self.cache.store(wanted.key, element, matched[0] if matched else None)  # type: ignore[union-attr]
        return target, state

    def find(self, wanted: LocateParam | str, observation: Observation,
             references: Sequence[tuple[str, Image.Image]] = ()) -> Target | None:
        """The grounders alone, no cache."""
        if isinstance(wanted, str):
            wanted = LocateParam(prompt=wanted)
        for grounder in self._for(wanted):
            if isinstance(grounder, QwenGrounder):
                target = grounder.find(self.env, observation, wanted.for_model, references=references)
            else:
                target = grounder.find(self.env, observation, wanted.prompt)
            if target is not None:
                return target
        return None

    def _for(self, wanted: LocateParam) -> list[Grounder]:
        if wanted.images:
            return [g for g in self.grounders if isinstance(g, QwenGrounder)]
        return list(self.grounders)

    def _verify(self, element: CachedElement, observation: Observation) -> Target | None:
        return verify(self.env, element, observation, browser=self.browser).target

    def _element(self, target: Target, observation: Observation) -> CachedElement:
        point = [round(target.point.x, 1), round(target.point.y, 1)]
        screen = [observation.screen.width, observation.screen.height]
        if self.browser:
            if target.xpath is None:  # found in pixels (ocr, qwen): remember the element there
                under = dom_element_at(self.env, target.point)
                if under is not None:
                    target.xpath, target.text = under.xpath, under.text
                    target.role, target.element_id = under.role, under.element_id
            if target.xpath is not None:
                return CachedElement(point=point, screen=screen, xpaths=[target.xpath],
                                     text=target.text or "", role=target.role,
                                     elementId=target.element_id, grounder=target.grounder)
        x, y = image_xy(target.point, observation)
        return CachedElement(point=point, screen=screen, grounder=target.grounder,
                             patch=image_patch(observation.screenshot, x, y))
