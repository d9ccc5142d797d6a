"""``python -m cli`` is ``qvl-agent``."""

from cli.main import main

main()
