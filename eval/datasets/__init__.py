"""Benchmark sets built from our own screens: ScreenSpot-v2 and AndroidControl layouts."""

from qvl_agent.eval.datasets.androidcontrol import build_androidcontrol, control_json, step_instruction
from qvl_agent.eval.datasets.grounding import build_grounding

__all__ = ["build_grounding", "build_androidcontrol", "control_json", "step_instruction"]
