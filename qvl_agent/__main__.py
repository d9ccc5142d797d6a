"""``python -m qvl_agent`` is ``qvl-agent``."""

from qvl_agent.cli.main import main

main()
