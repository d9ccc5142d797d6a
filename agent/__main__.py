"""``python -m agent`` is ``qvl-agent``."""

from agent.cli import main

main()
