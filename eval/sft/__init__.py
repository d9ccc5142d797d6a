"""From trajectories to training data: SFT export in Qwen2.5-VL's own chat form, and a fine-tune."""

from qvl_agent.eval.sft.episodes import Episode, find_episodes
from qvl_agent.eval.sft.export import ExportSummary, export_sft, split_by_task
from qvl_agent.eval.sft.samples import PromptOptions, Sample, episode_samples, render_answer, same_action

__all__ = [
    "Episode", "find_episodes", "ExportSummary", "export_sft", "split_by_task", "PromptOptions",
    "Sample", "episode_samples", "render_answer", "same_action",
]
