"""Zalo as Apprise services: Official Account messages and ZNS template messages.

    zalo://ACCESS_TOKEN/FOLLOWER_ID[/FOLLOWER_ID...][?base=https://openapi.zalo.me]
    zns://ACCESS_TOKEN/TEMPLATE_ID/PHONE[/PHONE...][?base=https://business.openapi.zalo.me]

`zalo://` sends a text message from the Official Account to each follower id (Zalo OA
API v3.0, `POST {base}/v3.0/oa/message/cs`). `zns://` sends the ZNS template to each phone
number (`POST {base}/message/template`), the notice's title and body as the template data
`title` and `message`. Both put the token in the `access_token` header. Zalo answers HTTP
200 with `{"error": <code>, "message": ...}`: only `error == 0` is a success, any other
code is a failed send (logged with its code and message). `base` points the plugin at
another server (tests run a local one). The token is masked in `url(privacy=True)`.

After a send, `message_ids` holds Zalo's ids of what it accepted and `failures` says what
went wrong, as `(kind, detail)`: `transient` (HTTP 5xx or 429, no connection, Zalo's rate
limit -32 or unknown error -100: worth retrying), `channel` (the token or the app or the
template is refused: every send will fail until an operator fixes it) or `address` (this
recipient only). `zns://...?track=KEY` sends KEY as ZNS's `tracking_id`.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import requests
from apprise.common import NotifyType, OverflowMode
from apprise.plugins.base import NotifyBase
from apprise.url import PrivacyMode

OA_BASE = "https://openapi.zalo.me"
ZNS_BASE = "https://business.openapi.zalo.me"
TEXT_LIMIT = 2000  # characters in one OA text message
TRANSIENT_CODES = frozenset({-32, -100})  # rate limit; unknown error, retry later
# invalid access token (OA, ZNS), application invalid/missing/inactive/bad secret/not linked, template id
CHANNEL_CODES = frozenset({-216, -124, -101, -102, -103, -104, -105, -109})


def failure_kind(code: object) -> str:
    if code in TRANSIENT_CODES:
        return "transient"
    return "channel" if code in CHANNEL_CODES else "address"


class NotifyZalo(NotifyBase):
    """Zalo Official Account text messages to followers."""

    service_name = "Zalo Official Account"
    service_url = "https://developers.zalo.me/"
    protocol = "zalo"
    setup_url = "https://developers.zalo.me/docs/official-account"
    request_rate_per_sec = 0  # Zalo allows bursts; the dispatcher bounds concurrency
    body_maxlen = TEXT_LIMIT
    overflow_mode = OverflowMode.SPLIT  # a long digest becomes several messages, nothing cut
    title_maxlen = 0  # a Zalo text has no title: Apprise puts it on the first line
    default_base = OA_BASE
    path = "/v3.0/oa/message/cs"

    templates = ("{schema}://{token}/{targets}",)
    template_tokens: ClassVar[dict[str, Any]] = dict(
        NotifyBase.template_tokens,
        token={"name": "Access Token", "type": "string", "private": True, "required": True},
        targets={"name": "Targets", "type": "list:string", "required": True},
    )
    template_args: ClassVar[dict[str, Any]] = dict(
        NotifyBase.template_args, base={"name": "API base URL", "type": "string"}
    )

    def __init__(self, token: str, targets: list[str] | None = None, base: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not token:
            raise TypeError(f"{self.service_name}: no access token")
        self.token = token
        self.targets = [t for t in (targets or []) if t]
        if not self.targets:
            raise TypeError(f"{self.service_name}: no recipient")
        self.base = (base or self.default_base).rstrip("/")
        self.message_ids: list[str] = []  # of the last send, for the delivery log
        self.failures: list[tuple[str, str]] = []  # of the last send: (transient|channel|address, detail)

    def payloads(self, body: str, title: str) -> list[dict[str, Any]]:
        return [{"recipient": {"user_id": t}, "message": {"text": body}} for t in self.targets]

    def send(self, body: str, title: str = "", notify_type: str = NotifyType.INFO, **kwargs: Any) -> bool:
        self.message_ids, self.failures = [], []
        ok = True
        headers = {"access_token": self.token, "Content-Type": "application/json", "User-Agent": self.app_id}
        for payload in self.payloads(body, title):
            self.throttle()
            try:
                r = requests.post(
                    self.base + self.path,
                    data=json.dumps(payload, ensure_ascii=False).encode(),
                    headers=headers,
                    timeout=self.request_timeout,
                    verify=self.verify_certificate,
                )
            except requests.RequestException as exc:
                self.logger.warning(f"{self.service_name}: cannot reach {self.base}: {exc}")
                self.failures.append(("transient", f"cannot reach {self.base}: {type(exc).__name__}"))
                ok = False
                continue
            if r.status_code != requests.codes.ok:
                self.logger.warning(f"{self.service_name}: HTTP {r.status_code} from {self.base}")
                kind = "transient" if r.status_code >= 500 or r.status_code == 429 else "channel"
                self.failures.append((kind, f"HTTP {r.status_code}"))
                ok = False
                continue
            try:
                answer = r.json()
            except ValueError:
                answer = {"error": None, "message": r.text[:200]}
            if answer.get("error") != 0:
                code, text = answer.get("error"), answer.get("message", "")
                self.logger.warning(f"{self.service_name}: error {code}: {text}")
                self.failures.append((failure_kind(code), f"Zalo error {code}: {text}"))
                ok = False
                continue
            self.message_ids.append(str((answer.get("data") or {}).get("message_id", "")))
        return ok

    @property
    def url_identifier(self) -> tuple[str, ...]:
        return (self.protocol, self.token, self.base)

    def url(self, privacy: bool = False, *args: Any, **kwargs: Any) -> str:
        params = self.url_parameters(privacy=privacy, *args, **kwargs)  # noqa: B026
        if self.base != self.default_base:
            params["base"] = self.base
        params.update(self.extra_params())
        return "{schema}://{token}/{targets}?{params}".format(
            schema=self.protocol,
            token=self.pprint(self.token, privacy, mode=PrivacyMode.Secret, safe=""),
            targets="/".join(self.quote(t, safe="") for t in self.route()),
            params=self.urlencode(params),
        )

    def route(self) -> list[str]:
        """The URL path after the token."""
        return self.targets

    def extra_params(self) -> dict[str, str]:
        return {}

    def __len__(self) -> int:
        return len(self.targets)

    @classmethod
    def parse_url(cls, url: str) -> dict[str, Any] | None:
        results = NotifyBase.parse_url(url, verify_host=False)
        if not results:
            return results
        results["token"] = cls.unquote(results["host"])
        results["targets"] = cls.split_path(results["fullpath"])
        if "base" in results["qsd"]:
            results["base"] = results["qsd"]["base"]
        return results


class NotifyZaloZNS(NotifyZalo):
    """Zalo Notification Service: an approved template message to a phone number."""

    service_name = "Zalo ZNS"
    protocol = "zns"
    setup_url = "https://developers.zalo.me/docs/zalo-notification-service"
    default_base = ZNS_BASE
    path = "/message/template"
    title_maxlen = 250  # the title goes to the template's `title` parameter
    templates = ("{schema}://{token}/{template}/{targets}",)
    template_tokens: ClassVar[dict[str, Any]] = dict(
        NotifyZalo.template_tokens, template={"name": "Template ID", "type": "string", "required": True}
    )

    template_args: ClassVar[dict[str, Any]] = dict(
        NotifyZalo.template_args, track={"name": "Tracking id", "type": "string"}
    )

    def __init__(self, token: str, template: str | None = None, track: str | None = None, **kwargs: Any):
        super().__init__(token, **kwargs)
        if not template:
            raise TypeError("Zalo ZNS: no template id")
        self.template = template
        self.track = track

    def payloads(self, body: str, title: str) -> list[dict[str, Any]]:
        base = {"template_id": self.template, "template_data": {"title": title, "message": body}}
        if self.track:
            base["tracking_id"] = self.track
        return [{"phone": phone, **base} for phone in self.targets]

    def route(self) -> list[str]:
        return [self.template, *self.targets]

    def extra_params(self) -> dict[str, str]:
        return {"track": self.track} if self.track else {}

    @classmethod
    def parse_url(cls, url: str) -> dict[str, Any] | None:
        results = super().parse_url(url)
        if results:
            path = results["targets"]
            results["template"], results["targets"] = (path[0], path[1:]) if path else (None, [])
            if "track" in results["qsd"]:
                results["track"] = results["qsd"]["track"]
        return results
