"""Scripted RPA: Midscene-format YAML scripts, grounders, the location cache, the runner."""

from qvl_agent.agent.rpa.cache import CachedElement, LocateEntry, TaskCache
from qvl_agent.agent.rpa.grounders import DomGrounder, Grounder, QwenGrounder, Target, UiaGrounder
from qvl_agent.agent.rpa.locator import Locator, Stats
from qvl_agent.agent.rpa.ocr import OcrGrounder
from qvl_agent.agent.rpa.runner import RpaOptions, RpaResult, run_script
from qvl_agent.agent.rpa.script import Script, load_script

__all__ = [
    "CachedElement", "LocateEntry", "TaskCache", "DomGrounder", "Grounder", "QwenGrounder",
    "Target", "UiaGrounder", "Locator", "Stats", "OcrGrounder", "RpaOptions", "RpaResult",
    "run_script", "Script", "load_script",
]
