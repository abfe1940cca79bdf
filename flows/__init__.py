"""Prefect flows and deployments: the shell that schedules and observes the engine.

Not built yet. The orchestration issue adds the campaign flow (one subflow per level,
a few set-based tasks each), the interval schedule and the `cascade.signal.received`
trigger. Flows here call into `cascade`; no domain logic lives in this package.
"""
