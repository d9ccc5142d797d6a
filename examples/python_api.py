"""The README's Python API example as a script: one goal on a page or a phone, a line per step.

    python examples/python_api.py "fill in the form and submit it" \
        --endpoint http://localhost:8000/v1 --url http://127.0.0.1:8000/form.html
    python examples/python_api.py "turn on wifi" --endpoint http://localhost:8000/v1 --device sim

Each step is printed as it ends (what the model saw, answered, did and cost), then the
result. Ctrl-C, or more steps than --max-steps, ends the run; its report is in the run folder.
"""

from __future__ import annotations

import argparse
import json

import qvl_agent


def print_step(step: qvl_agent.Step) -> None:
    """on_step_end: the step's screen, the model's answer, the action done and the tokens."""
    print(json.dumps({
        "step": step.index,
        "screen": str(step.observation.screen) if step.observation else None,
        "answer": step.raw,
        "action": step.action.model_dump() if step.action else None,
        "error": step.error,
        "tokens": step.usage.tokens,
        "image_tokens": step.usage.image_tokens,
    }), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("goal")
    parser.add_argument("--endpoint", help="an OpenAI-compatible server, e.g. http://localhost:8000/v1")
    parser.add_argument("--model", help="or a Qwen2.5-VL checkpoint folder / hub id")
    parser.add_argument("--url", help="a browser on this page")
    parser.add_argument("--device", help="or a phone: an adb serial, or sim")
    parser.add_argument("--max-steps", type=int, default=10)
    parser.add_argument("--out", help="the run folder (default: runs/<time>-<goal>)")
    args = parser.parse_args()

    agent = qvl_agent.Agent(args.model, endpoint=args.endpoint)
    started: list[int] = []
    if args.device:
        screen = qvl_agent.open_env("android", device=args.device)
    else:
        screen = qvl_agent.open_env("browser", url=args.url)
    with screen as env:
        result = agent.run(args.goal, env, max_steps=args.max_steps, out=args.out,
                           on_step_start=lambda step: started.append(step.index),
                           on_step_end=print_step)
    print(json.dumps({"status": result.status, "succeeded": result.succeeded,
                      "answer": result.answer, "steps": len(result.steps), "started": started,
                      "usage": result.usage.model_dump(), "run_dir": str(result.run_dir),
                      "report": str(result.report)}), flush=True)


if __name__ == "__main__":
    main()
