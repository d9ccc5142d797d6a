"""Qwen2.5-VL: what it is shown, what it answers, and how that maps to Actions.

torch, transformers and the OpenAI client are imported only when a backend is created.
"""

from qvl_agent.model.backend import Generation, VLMBackend
from qvl_agent.model.convert import from_action, to_action
from qvl_agent.model.frame import FACTOR, MAX_PIXELS, MIN_PIXELS, Frame
from qvl_agent.model.grounding import GroundingResult, Located, locate
from qvl_agent.model.openai_backend import OpenAIBackend
from qvl_agent.model.options import ModelOptions, load_backend
from qvl_agent.model.parsing import Grounding, ToolCall, parse_grounding, parse_tool_call, parse_tool_calls
from qvl_agent.model.prompts import (
    PastStep, agent_messages, grounding_messages, grounding_question, system_prompt, user_text,
)
from qvl_agent.model.scripted import ScriptedVLM
from qvl_agent.model.tiny import write_tiny_checkpoint
from qvl_agent.model.transformers_backend import DEFAULT_MODEL, TransformersBackend

__all__ = [
    "Generation", "VLMBackend", "to_action", "from_action", "Frame", "FACTOR", "MIN_PIXELS",
    "MAX_PIXELS", "locate", "Located", "GroundingResult", "OpenAIBackend", "ToolCall",
    "Grounding", "parse_tool_call", "parse_tool_calls", "parse_grounding", "PastStep",
    "agent_messages", "grounding_messages", "grounding_question", "system_prompt",
    "user_text", "ScriptedVLM", "write_tiny_checkpoint", "TransformersBackend", "DEFAULT_MODEL",
    "ModelOptions", "load_backend",
]
