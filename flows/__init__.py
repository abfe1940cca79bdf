"""Prefect flows and deployments: the shell that schedules and observes the engine.

- `campaign`: the campaign flow, one run a tick (one subflow per level, a few set-based tasks
  each), and the dispatch of the digests after it;
- `deployments`: a deployment per campaign, on `prefect.yaml`'s interval and its
  `cascade.signal.received` trigger, and the automation that marks dead runs Crashed;
- `project`: `prefect.yaml`'s schedule and where the Prefect API is, read without Prefect;
- `serve`: `cascade serve`, a local Prefect server (unless PREFECT_API_URL names one), the
  deployments served and the web application beside them.

Flows here call into `cascade`; no domain logic lives in this package.
"""
