"""Delivery of the engine's notices through Apprise, with Vietnamese templates.

Importing this package registers the Zalo services with Apprise's plugin manager:
`zalo://` (Official Account messages to followers) and `zns://` (ZNS template messages
to phone numbers); see `notifiers.zalo`. Email uses Apprise's own `mailto://`/`mailtos://`.

The rest: `notifiers.render` words digests in Vietnamese (templates in
`notifiers/templates`), `notifiers.email` and `notifiers.channels` send one digest on one
channel and say why a send failed, `notifiers.dispatch` delivers a campaign's due digests
(fallback, retries, delivery log, idempotency, alerts).
"""

from apprise.plugins import N_MGR

from notifiers.zalo import NotifyZalo, NotifyZaloZNS

for _plugin in (NotifyZalo, NotifyZaloZNS):
    if _plugin.protocol not in N_MGR:
        N_MGR.add(_plugin)

__all__ = ["NotifyZalo", "NotifyZaloZNS"]
