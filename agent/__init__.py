"""Policies, the observe-think-act loop, trajectories and reports, and the CLI."""

__all__: list[str] = []
