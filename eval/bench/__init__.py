"""Offline benchmarks: ScreenSpot (v1, v2, Pro) grounding and AndroidControl step accuracy."""

from qvl_agent.eval.bench.androidcontrol import control_type, gold_action, judge, predict_step
from qvl_agent.eval.bench.androidcontrol_data import (
    ControlStep, Episode, UIElement, detect_control_layout, read_episodes, target_element,
)
from qvl_agent.eval.bench.command import run_androidcontrol, run_screenspot
from qvl_agent.eval.bench.report import breakdown, score
from qvl_agent.eval.bench.screenspot import predict_sample, read_point, screenspot_messages
from qvl_agent.eval.bench.screenspot_data import GroundingSample, detect_layout, load_screenspot
from qvl_agent.eval.bench.tfrecord import make_example, parse_example, read_records, write_records

__all__ = [
    "run_screenspot", "run_androidcontrol", "breakdown", "score", "predict_sample", "read_point",
    "screenspot_messages", "GroundingSample", "detect_layout", "load_screenspot", "make_example",
    "parse_example", "read_records", "write_records", "control_type", "gold_action", "judge",
    "predict_step", "ControlStep", "Episode", "UIElement", "detect_control_layout",
    "read_episodes", "target_element",
]
