"""Scripted RPA: Midscene-format YAML scripts, grounders, the location cache, the runner."""

from agent.rpa.cache import CachedElement, LocateEntry, TaskCache
from agent.rpa.grounders import DomGrounder, Grounder, QwenGrounder, Target, UiaGrounder
from agent.rpa.locator import Locator, Stats
from agent.rpa.ocr import OcrGrounder
from agent.rpa.runner import RpaOptions, RpaResult, run_script
from agent.rpa.script import Script, load_script

__all__ = [
    "CachedElement", "LocateEntry", "TaskCache", "DomGrounder", "Grounder", "QwenGrounder",
    "Target", "UiaGrounder", "Locator", "Stats", "OcrGrounder", "RpaOptions", "RpaResult",
    "run_script", "Script", "load_script",
]
