"""The Zalo Official Account's tokens, kept fresh by Cascade itself.

A Zalo OA access token lives about 25 hours (each answer says how long: `expires_in`); the
refresh token lives about 3 months and is single-use. Cascade keeps the pair in the store
(`zalo_tokens`) and exchanges the refresh token at Zalo's OAuth endpoint

    POST https://oauth.zaloapp.com/v4/oa/access_token
         form: app_id, grant_type=refresh_token, refresh_token;  header: secret_key

which answers a new access token and a new refresh token. It refreshes an hour before the
access token expires, once more when Zalo answers that a token is invalid (-216), and, with
nothing to send, once the pair is 30 days old (`keep_alive`, from the web application's
watchdog), so that the refresh token never lapses; a refresh Zalo refuses is a channel
failure (the operator is alerted). The exchange runs
with the row locked (PostgreSQL: FOR UPDATE; SQLite: the write lock), and a dispatcher that
finds the token already renewed by another uses that one: the refresh token is spent once.

Settings: CASCADE_ZALO_APP_ID, CASCADE_ZALO_SECRET_KEY (the app's secret), and
CASCADE_ZALO_OAUTH_URL to point at another server (tests). `cascade zalo-token` stores the
first pair. Tokens are never logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from sqlalchemy import Engine, insert, select, update

from cascade.engine import store
from cascade.i18n import _
from cascade.settings import ZaloSettings

OAUTH_URL = "https://oauth.zaloapp.com/v4/oa/access_token"
MARGIN = 3600  # seconds: refresh when the access token has less than this left
KEEP_ALIVE = 30 * 86_400  # seconds: renew a pair this old though nothing was sent (it lives ~3 months)
_T = store.zalo_tokens


class TokenRefused(Exception):
    """No usable token: Zalo refused the refresh, or none is stored. Words for the operator."""


@dataclass(frozen=True)
class ZaloApp:
    app_id: str
    secret_key: str
    oauth_url: str = OAUTH_URL

    @classmethod
    def of(cls, zalo: ZaloSettings) -> ZaloApp | None:
        """The app `zalo` names, or None when its id or secret key is not set."""
        secret = zalo.secret_key.get_secret_value() if zalo.secret_key is not None else ""
        if not zalo.app_id or not secret:
            return None
        return cls(zalo.app_id, secret, zalo.oauth_url or OAUTH_URL)


Post = Callable[..., Any]


class Tokens:
    """The OA's current access token, refreshed as needed; shared by a dispatcher's threads."""

    def __init__(
        self, engine: Engine, app: ZaloApp, clock: Callable[[], float] = time.time, post: Post = requests.post
    ) -> None:
        self.engine, self.app, self.clock, self.post = engine, app, clock, post

    def keep(self, access: str | None, refresh: str, expires_in: int = 0) -> None:
        """Keep a pair obtained from Zalo (`cascade zalo-token`); no access token: refresh now."""
        now = int(self.clock())
        row = {
            "access_token": access or "",
            "refresh_token": refresh,
            "expires_at": now + expires_in if access else 0,
            "refreshed_at": now,
        }
        with self.engine.begin() as conn:
            done = conn.execute(update(_T).where(_T.c.app_id == self.app.app_id).values(**row))
            if done.rowcount == 0:
                conn.execute(insert(_T).values(app_id=self.app.app_id, **row))
        if not access:
            self.refresh("")

    def stored(self) -> Any:
        """The app's pair as the store holds it (access and refresh token, expires_at,
        refreshed_at), or None: `cascade zalo-token` was never run."""
        with self.engine.connect() as conn:
            return conn.execute(select(_T).where(_T.c.app_id == self.app.app_id)).first()

    def current(self) -> str:
        row = self.stored()
        if row is None:
            raise TokenRefused(
                _(
                    "no Zalo token stored for app {app}: run `cascade zalo-token` with the refresh "
                    "token from Zalo's developer console",
                    app=self.app.app_id,
                )
            )
        if row.expires_at - self.clock() < MARGIN:
            return self.refresh(row.access_token)
        return str(row.access_token)

    def keep_alive(self) -> bool:
        """Renew the pair if it was last renewed `KEEP_ALIVE` ago or more: the refresh token
        lapses about 3 months after it was issued, and only a send renews it otherwise. True
        if it was renewed. Raises TokenRefused when Zalo refuses it."""
        row = self.stored()
        if row is None or self.clock() - row.refreshed_at < KEEP_ALIVE:
            return False
        self.refresh(row.access_token)
        return True

    def refresh(self, stale: str) -> str:
        """A new access token in place of `stale` (one Zalo refused, or about to expire): from
        the store when another dispatcher renewed it meanwhile, else from Zalo's OAuth."""
        with self.engine.begin() as conn:
            # take the row's lock first (SQLite: the write lock), then read it under the lock
            conn.execute(update(_T).where(_T.c.app_id == self.app.app_id).values(app_id=_T.c.app_id))
            row = conn.execute(select(_T).where(_T.c.app_id == self.app.app_id).with_for_update()).first()
            if row is None:
                raise TokenRefused(
                    _("no Zalo token stored for app {app}: run `cascade zalo-token`", app=self.app.app_id)
                )
            now = self.clock()
            if row.access_token != stale and row.expires_at - now >= MARGIN:
                return str(row.access_token)  # renewed by another dispatcher meanwhile
            answer = self._exchange(row.refresh_token)
            conn.execute(
                update(_T)
                .where(_T.c.app_id == self.app.app_id)
                .values(
                    access_token=answer["access_token"],
                    refresh_token=answer["refresh_token"],
                    expires_at=int(now) + int(answer.get("expires_in") or 0),
                    refreshed_at=int(now),
                )
            )
            return str(answer["access_token"])

    def _exchange(self, refresh_token: str) -> dict[str, Any]:
        try:
            response = self.post(
                self.app.oauth_url,
                data={
                    "app_id": self.app.app_id,
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                },
                headers={"secret_key": self.app.secret_key},
                timeout=30,
            )
            body = response.json()
        except (requests.RequestException, ValueError) as error:
            raise TokenRefused(f"Zalo's OAuth server did not answer ({type(error).__name__})") from None
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            why = (
                body.get("error_description") or body.get("message") or body.get("error")
                if isinstance(body, dict)
                else None
            )
            raise TokenRefused(
                f"Zalo refused to refresh the access token ({why or response.status_code}): get a new "
                "refresh token from Zalo's developer console and run `cascade zalo-token`"
            )
        return body
