"""Qwen2.5-VL: what it is shown, what it answers, and how that maps to Actions.

torch, transformers and the OpenAI client are imported only when a backend is created.
"""

from model.backend import Generation, VLMBackend
from model.convert import from_action, to_action
from model.frame import FACTOR, MAX_PIXELS, MIN_PIXELS, Frame
from model.grounding import GroundingResult, Located, locate
from model.openai_backend import OpenAIBackend
from model.parsing import Grounding, ToolCall, parse_grounding, parse_tool_call, parse_tool_calls
from model.prompts import (
    PastStep, agent_messages, grounding_messages, grounding_question, system_prompt, user_text,
)
from model.scripted import ScriptedVLM
from model.tiny import write_tiny_checkpoint
from model.transformers_backend import DEFAULT_MODEL, TransformersBackend

__all__ = [
    "Generation", "VLMBackend", "to_action", "from_action", "Frame", "FACTOR", "MIN_PIXELS",
    "MAX_PIXELS", "locate", "Located", "GroundingResult", "OpenAIBackend", "ToolCall",
    "Grounding", "parse_tool_call", "parse_tool_calls", "parse_grounding", "PastStep",
    "agent_messages", "grounding_messages", "grounding_question", "system_prompt",
    "user_text", "ScriptedVLM", "write_tiny_checkpoint", "TransformersBackend", "DEFAULT_MODEL",
]
