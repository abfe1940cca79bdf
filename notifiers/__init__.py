"""Delivery of the engine's notices through Apprise, with Vietnamese templates.

Importing this package registers the Zalo services with Apprise's plugin manager:
`zalo://` (Official Account messages to followers) and `zns://` (ZNS template messages
to phone numbers); see `notifiers.zalo`. Email uses Apprise's own `mailto://`/`mailtos://`.

Built so far: the Zalo plugin, the Vietnamese digests (`notifiers.render`, templates in
`notifiers/templates`) and sending one by email (`notifiers.email`, the SMTP server from
CASCADE_SMTP_URL), one channel of a contact at a time (`notifiers.channels`, used by
`cascade notify-test`). Still to come (the notifiers issue): the dispatcher with fallback,
retries, delivery log, idempotency and alerts; until then the campaign flow dispatches to
a logging channel.
"""

from apprise.plugins import N_MGR

from notifiers.zalo import NotifyZalo, NotifyZaloZNS

for _plugin in (NotifyZalo, NotifyZaloZNS):
    if _plugin.protocol not in N_MGR:
        N_MGR.add(_plugin)

__all__ = ["NotifyZalo", "NotifyZaloZNS"]
