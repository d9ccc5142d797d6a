"""The ``qvl-agent`` command line: one module per command or group, above every package.

Imports point one way: ``envs <- model <- agent <- tasks <- eval <- cli``; nothing imports
``cli``. A new command is a module here that registers on ``cli.app.app`` and is imported
by ``cli.main``.
"""

from qvl_agent.cli.main import app, main

__all__ = ["app", "main"]
