"""Tasks on the phone itself: radios in Settings, and opening apps.

The oracles find their way by what each phone shows (``settings_paths``), and open the
page by its system intent on a phone whose Settings they do not know.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import ClassVar


from qvl_agent.agent.trajectory import Trajectory
from qvl_agent.envs.actions import Action, Click, OpenApp, Terminate
from qvl_agent.envs.base import Env
from qvl_agent.tasks.android.common import AndroidTask
from qvl_agent.tasks.android.device import (
    VENDOR_PACKAGES, device_of, foreground_app, phone_kind, radio_on, set_radio, tap, tap_switch,
    ui_nodes,
)
from qvl_agent.tasks.android.settings_paths import RADIO_INTENTS, settings_path
from qvl_agent.tasks.base import TaskParams

__all__ = ["ToggleWifi", "ToggleBluetooth", "ToggleAirplaneMode", "OpenAppTask"]


class ToggleParams(TaskParams):
    on: bool


class _Toggle(AndroidTask):
    """Runs on any phone: the radio is set through ``svc``/``cmd connectivity`` and read back
    from the value its service writes."""

    runs_on = "any"
    stop_apps = ("com.android.settings",)
    Params = ToggleParams
    max_steps = 10
    key: ClassVar[str]
    words: ClassVar[str]

    @classmethod
    def sample_params(cls, rng: random.Random) -> ToggleParams:
        return ToggleParams(on=rng.random() < 0.5)

    @property
    def goal(self) -> str:
        return f"Turn {'on' if self.params.on else 'off'} {self.words}."

    def _seed(self, env: Env) -> None:
        if self.key != "airplane_mode_on":
            set_radio(env, "airplane_mode_on", False)
        set_radio(env, self.key, not self.params.on)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        return float(radio_on(env, self.key) == self.params.on)

    def oracle(self, env: Env) -> Iterator[Action]:
        path = settings_path(phone_kind(env), self.key)
        if path is None:
            action, row = RADIO_INTENTS[self.key]
            device_of(env).shell(["am", "start", "-a", action])
            yield tap_switch(env, row)
        else:
            yield OpenApp(name="Settings")
            for step in path:
                yield tap(env, text=step.label) if step.kind == "open" \
                    else tap_switch(env, step.label)
        yield Terminate(status="success")


class ToggleWifi(_Toggle):
    id, key, words = "android/toggle-wifi", "wifi_on", "Wi-Fi"


class ToggleBluetooth(_Toggle):
    id, key, words = "android/toggle-bluetooth", "bluetooth_on", "Bluetooth"


class ToggleAirplaneMode(_Toggle):
    id, key, words = "android/toggle-airplane-mode", "airplane_mode_on", "airplane mode"



class OpenAppParams(TaskParams):
    label: str
    packages: list[str]         # the app under each vendor's name


class OpenAppTask(AndroidTask):
    id = "android/open-app"
    Params = OpenAppParams
    max_steps = 5
    APPS: ClassVar[list[tuple[str, str]]] = [
        ("Clock", "com.android.deskclock"), ("Contacts", "com.android.contacts"),
        ("Notes", "com.qvl.notes"), ("Settings", "com.android.settings"), ("Flights", "com.qvl.flights"),
    ]

    @classmethod
    def sample_params(cls, rng: random.Random) -> OpenAppParams:
        label, package = rng.choice(cls.APPS)
        return OpenAppParams(label=label, packages=list(VENDOR_PACKAGES.get(package, (package,))))

    @property
    def goal(self) -> str:
        return f"Open the {self.params.label} app."

    def check(self, env: Env, trajectory: Trajectory) -> float:
        return float(foreground_app(env) in self.params.packages)

    def oracle(self, env: Env) -> Iterator[Action]:
        # As a person does: tap the app's icon on the home screen (the launcher labels it with
        # the app's name); a home screen without it gets the open action.
        icons = [node for node in ui_nodes(env) if node.content_desc == self.params.label]
        yield Click(at=icons[0].center) if icons else OpenApp(name=self.params.label)
        yield Terminate(status="success")
