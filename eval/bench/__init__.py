"""Offline benchmarks: ScreenSpot (v1, v2, Pro) grounding and AndroidControl step accuracy."""

from eval.bench.command import run_screenspot
from eval.bench.report import breakdown, score
from eval.bench.screenspot import predict_sample, read_point, screenspot_messages
from eval.bench.screenspot_data import GroundingSample, detect_layout, load_screenspot
from eval.bench.tfrecord import make_example, parse_example, read_records, write_records

__all__ = [
    "run_screenspot", "breakdown", "score", "predict_sample", "read_point", "screenspot_messages",
    "GroundingSample", "detect_layout", "load_screenspot", "make_example", "parse_example",
    "read_records", "write_records",
]
