"""Delivery of the engine's notices by email and Zalo through Apprise, with Vietnamese templates.

Not built yet. The notifiers issue adds the Apprise channels (`mailto://`, a `zalo://`
and `zns://` plugin), the Jinja2 templates and the outbox dispatcher.
"""
