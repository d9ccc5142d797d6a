"""Scripted RPA: Midscene-format YAML scripts (and batch index files), grounders, the
location cache, the runner."""

from qvl_agent.agent.rpa.batch import Batch, load_batch, run_batch
from qvl_agent.agent.rpa.cache import CachedElement, LocateEntry, TaskCache
from qvl_agent.agent.rpa.grounders import DomGrounder, Grounder, QwenGrounder, Target, UiaGrounder
from qvl_agent.agent.rpa.locator import Locator, Stats
from qvl_agent.agent.rpa.ocr import OcrGrounder
from qvl_agent.agent.rpa.runner import RpaOptions, RpaResult, check_script, run_script
from qvl_agent.agent.rpa.script import Script, ScriptProblems, load_script

__all__ = [
    "Batch", "load_batch", "run_batch", "CachedElement", "LocateEntry", "TaskCache",
    "DomGrounder", "Grounder", "QwenGrounder", "Target", "UiaGrounder", "Locator", "Stats",
    "OcrGrounder", "RpaOptions", "RpaResult", "check_script", "run_script", "Script",
    "ScriptProblems", "load_script",
]
