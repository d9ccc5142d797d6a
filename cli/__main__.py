"""``python -m qvl_agent.cli`` is ``qvl-agent``."""

from qvl_agent.cli.main import main

main()
