"""A digest's notices as a Vietnamese message: subject, plain text, HTML and a short Zalo text.

Templates live in `notifiers/templates` (Jinja2): `notices.j2` words each notice kind as
one line of plain text; `digest.txt.j2`, `digest.html.j2` (autoescaped) and `digest.zalo.j2`
lay those lines out as one digest. Deadlines are
written as the last day on which the work counts (cascade.engine.words): an instant at midnight
20/11 is "hết ngày 19/11/2020", with the days left or the days late.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape as escape_html
from typing import Any

import jinja2
import pendulum

from cascade.engine.words import below_target, deadline_text, number_text, percent_text
from cascade.plan.values import channel_said
from cascade.timing.deadlines import days_late, zone

# units named in the line of escalations alike; past it the line counts the rest, the email lists
# them all at its end, and a Zalo message (a chat line, not a register) points there
NAMED_IN_A_LINE = 20


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("notifiers", "templates"),
        autoescape=lambda name: name is not None and name.endswith(".html.j2"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["named_in_a_line"] = NAMED_IN_A_LINE
    return env


WORDS: Any = _environment().get_template("words.j2").module  # the vocabulary and short messages
STATES: dict[str, str] = dict(WORDS.states)
DAY = 86_400


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    short: str  # for Zalo: the same notices, without greeting and footer


LINKED = ("task.opened", "reminder.sent", "escalation.sent", "report.requested", "task.at_risk")


class Renderer:
    """`link(unit, task, sent)` gives the signed link of an instance (cascade.engine.links): a notice
    about a unit's own task or report, sent to that unit, carries it."""

    def __init__(
        self,
        tz: str,
        link: Callable[[str, str, int], str] | None = None,
        answer: Callable[[int, str, int], str] | None = None,
        place: Mapping[str, int] | None = None,
    ) -> None:
        self.tz = tz
        self.link = link
        self.answer = answer  # a request's approve / deny links (cascade.engine.links.answer_maker)
        self.place = place  # each unit's place in the tree's order: the lagging units listed so
        self.env = _environment()  # its own: its filters know this campaign's timezone
        self.env.filters.update(
            deadline=self.deadline,
            moment=self.moment,
            days_left=lambda epoch, now: days_left(epoch, now, tz),
            number=number,
            percent=percent_text,  # a rate rolled up: 0.8 is "80%", as the summary writes it
            summary_counts=summary_counts,
            below_target=below_target,
        )

    def deadline(self, epoch: int | None) -> str:
        return str(WORDS.no_deadline()) if epoch is None else deadline_text(epoch, self.tz)

    def moment(self, epoch: int) -> str:
        """An instant as a notice says it: "10:00 ngày 18/11/2020"."""
        return pendulum.from_timestamp(epoch, tz=zone(self.tz)).format("HH:mm [ngày] DD/MM/YYYY")

    def render(
        self,
        notices: Sequence[Mapping[str, Any]],
        recipient: str,
        units: Mapping[str, str],
        campaign: str,
        now: int,
        recipient_unit: str | None = None,
    ) -> Message:
        """The message for one digest to `recipient` (a unit's name; `recipient_unit` its id,
        for links); `units` names unit ids."""
        notices = _reminders_said_by_their_opening(notices)
        subject = subject_of(notices, campaign)
        line = self.env.get_template("notices.j2").module.line  # type: ignore[attr-defined]
        shown = _moves_together(_escalations_together(notices, recipient_unit))
        # the units lagging, listed at the end of an email: gathered from lines naming one unit
        # each, and from grouped lines naming some (a list of all their names would only repeat them)
        grouped = [len(n["units"]) for n in shown if n.get("kind") == "escalations.grouped"]
        cut = any(count > NAMED_IN_A_LINE for count in grouped)
        lagging: list[str] = []
        if cut or not grouped:  # in the tree's order, as the lines above name them (by name: "Chi bộ 1 xã
            # 2.8.1, Chi bộ 1 xã 2.8.10, ... Chi bộ 1 xã 2.8.2", and every "Đảng ủy" after the "Chi bộ")
            ids = {n["lagging"] for n in notices if n.get("kind") == "escalation.sent"}
            place = self.place or {}
            lagging = [
                units.get(u, u)
                for u in sorted(ids, key=lambda u: (place.get(u, len(place)), units.get(u, u)))
            ]
        ctx = {
            # plain strings, so that the HTML part escapes the names in them
            "lines": [str(line(_Notice(n), units, now)) for n in shown],
            "links": _each_once([self._links(n, recipient_unit, now) for n in shown]),
            "recipient": recipient,
            "units": units,
            "campaign": campaign,
            "now": now,
            "lagging": lagging,
            "cut": cut,
            "subject": subject,
        }
        return Message(
            subject,
            self.env.get_template("digest.txt.j2").render(ctx),
            self.env.get_template("digest.html.j2").render(ctx),
            self.env.get_template("digest.zalo.j2").render(ctx),
        )

    def _links(
        self, notice: Mapping[str, Any], recipient_unit: str | None, now: int
    ) -> list[tuple[str, str]]:
        """(label, URL) pairs under a notice: its unit's form, or a request's two answers."""
        if notice.get("kind") == "extension.requested":
            if self.answer is None or notice.get("request") is None:
                return []
            request = int(notice["request"])
            return [
                (str(WORDS.link_approve()), self.answer(request, "approve", now)),
                (str(WORDS.link_deny()), self.answer(request, "deny", now)),
            ]
        unit = notice.get("lagging") if notice.get("kind") == "escalation.sent" else notice.get("unit")
        if self.link is None or notice.get("kind") not in LINKED or not notice.get("task"):
            return []
        if unit is None or unit != recipient_unit:
            return []  # a parent told about its child's task confirms nothing for it
        return [(str(WORDS.link_form()), self.link(str(unit), str(notice["task"]), now))]

    def alert(self, channel: str, detail: str, held: int, recipient: str, campaign: str, now: int) -> Message:
        """The operator's alert: `channel` failed a whole dispatch at `now`, `held` digests wait."""
        name, setting = CHANNEL_NAMES.get(channel, (channel, "?"))
        subject = str(WORDS.alert_subject(name, campaign))
        ctx = {
            "recipient": recipient,
            "channel_name": name,
            "setting": setting,
            "detail": detail,
            "held": held,
            "campaign": campaign,
            "subject": subject,
            "at": pendulum.from_timestamp(now, tz=self.tz).format("HH:mm DD/MM/YYYY"),
        }
        text = self.env.get_template("alert.txt.j2").render(ctx)
        html = self.env.get_template("alert.html.j2").render(ctx)
        return Message(subject, text, html, str(WORDS.alert_short(name, detail, held)))

    def stalled(self, h: Any, recipient: str) -> Message:
        """The operator's alert: the campaign `h` (a `cascade.engine.health.Health`) stopped ticking."""
        at = h.ticked_at
        last = None if at is None else pendulum.from_timestamp(at, tz=self.tz).format("HH:mm DD/MM/YYYY")
        ctx = {"h": h, "recipient": recipient, "minutes": max(1, h.age // 60), "last": last}
        words = self.env.get_template("stalled.txt.j2").make_module(ctx)
        subject = str(words.subject(h)).strip()  # type: ignore[attr-defined]
        short = str(words.short(h, ctx["minutes"])).strip()  # type: ignore[attr-defined]
        text = str(words).strip()
        html = self.env.get_template("stalled.html.j2").render(ctx, subject=subject)
        return Message(subject, text, html, short)


def test_message(unit: str, campaign: str) -> Message:
    """`cascade notify-test`'s message to a unit's channels: `unit` its name, `campaign` its title."""
    text = str(WORDS.test_text(unit, campaign))
    return Message(str(WORDS.test_subject()), text, f"<p>{escape_html(text)}</p>", text)


CHANNEL_NAMES = {  # (the name the operator reads, the settings it takes)
    "email": (channel_said("email"), "CASCADE_SMTP_URL"),
    "zalo": (channel_said("zalo"), "CASCADE_ZALO_TOKEN"),
    "phone": (channel_said("phone"), "CASCADE_ZALO_TOKEN, CASCADE_ZNS_TEMPLATE"),
}


Payload = Mapping[str, Any]  # a notice as the outbox keeps it
_OPENINGS = ("task.opened", "report.requested")


def _each_once(links: list[list[tuple[str, str]]]) -> list[list[tuple[str, str]]]:
    """Each notice's links, a form's link under the last line about its task only: work opened
    already overdue (its parent done late, a catch-up after an outage) had its form's link under
    "Đã mở việc ... (đã quá 3 ngày)" and again under "[Quá hạn] ..." just below."""
    seen: set[str] = set()
    kept: list[list[tuple[str, str]]] = []
    for pairs in reversed(links):
        kept.append([(label, url) for label, url in pairs if url not in seen])
        seen.update(url for _label, url in pairs)
    return kept[::-1]


def _reminders_said_by_their_opening(notices: Sequence[Payload]) -> Sequence[Payload]:
    """The notices less each reminder of work whose opening (or report request) the same digest
    carries: that line says the same deadline and days left, with the same link (an essay due 7
    days after a conference, reminded 7 days before, opens with its reminder due). The reminder
    is still sent, in the opening's words."""
    opened = {(n.get("unit"), n.get("task")) for n in notices if n.get("kind") in _OPENINGS}
    if not opened:
        return notices
    return [
        n for n in notices if n.get("kind") != "reminder.sent" or (n.get("unit"), n.get("task")) not in opened
    ]


def _gathered(
    notices: Sequence[Payload],
    key: Callable[[Payload], tuple[Any, ...] | None],
    gather: Callable[[list[Payload]], Payload],
) -> list[Payload]:
    """The notices with those of one `key` (None: a notice that stands alone), two or more, made
    one notice by `gather`, where the first of them stood."""
    groups: dict[tuple[Any, ...], list[Payload]] = {}
    for n in notices:
        if (k := key(n)) is not None:
            groups.setdefault(k, []).append(n)
    out: list[Payload] = []
    listed = set()
    for n in notices:
        k = key(n)
        if k is None or len(groups[k]) < 2:
            out.append(n)
        elif k not in listed:
            listed.add(k)
            out.append(gather(groups[k]))
    return out


def _escalations_together(notices: Sequence[Payload], recipient_unit: str | None) -> list[Payload]:
    """The notices with the escalations about other units lagging on one task, stage and deadline
    as one notice, `escalations.grouped`, naming them where the first stood: the top unit of a
    national campaign was sent 717 lines alike (104 KB; 46 Zalo messages). One about the
    recipient's own work keeps its line, and its link."""

    def key(n: Payload) -> tuple[Any, ...] | None:
        if n.get("kind") != "escalation.sent" or n.get("lagging") == recipient_unit:
            return None
        return n.get("task"), n.get("task_title"), n.get("stage"), bool(n.get("repeated")), n.get("deadline")

    def gather(alike: list[Payload]) -> Payload:
        units = [n.get("lagging") for n in alike]
        return {**alike[0], "kind": "escalations.grouped", "units": units}

    return _gathered(notices, key, gather)


def _moves_together(notices: Sequence[Payload]) -> list[Payload]:
    """The notices as the digest lists them: units moved from one parent to another together
    (a merger, a level dropped) are one notice, `units.moved`, where the first of them stood."""

    def key(n: Payload) -> tuple[Any, ...] | None:
        return (n.get("from"), n.get("moved_to")) if n.get("kind") == "unit.moved" else None

    def gather(alike: list[Payload]) -> Payload:
        first = alike[0]
        units = [n.get("unit") for n in alike]
        return {
            "kind": "units.moved",
            "units": units,
            "from": first.get("from"),
            "moved_to": first.get("moved_to"),
        }

    return _gathered(notices, key, gather)


class _Notice(dict[str, Any]):
    """A payload whose missing keys read as None in the templates."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


def subject_of(notices: Sequence[Mapping[str, Any]], campaign: str) -> str:
    """The digest's most pressing kind, and what it is about: a unit told of its new work read
    "[Cascade] 1 thông báo — <the campaign>", which an inbox cuts before the campaign's title ends."""
    kinds = Counter(n.get("kind") for n in notices)
    requested, opened = kinds["report.requested"], kinds["task.opened"]
    titles = {n.get("task_title") for n in notices if n.get("kind") in ("report.requested", "task.opened")}
    one = len(titles) == 1 and requested + opened == len(notices) and requested <= 1 and opened <= 1
    return str(WORDS.subject(kinds, len(notices), campaign, next(iter(titles)) if one else None))


def days_left(epoch: int | None, now: int, tz: str) -> str:
    """Beside a deadline: the days left, or the days late as people count them, by the calendar
    from the last day (`timing.deadlines.days_late`): a digest of 07/12 said "(đã quá 1 ngày)" of
    work whose last day was 05/12, where its readers count two."""
    if epoch is None:
        return ""
    if epoch > now:
        days = math.ceil((epoch - now) / DAY)
        return str(WORDS.days_left(days) if days > 1 else WORDS.last_day())
    late = days_late(epoch, now, tz)
    return str(WORDS.days_late(late) if late >= 1 else WORDS.just_late())


def number(value: Any) -> str:
    """A figure as the documents write it: 1.234.567, 0,84."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return number_text(value)


def summary_counts(counts: Mapping[str, Mapping[str, Mapping[str, int]]]) -> str:
    """state_counts (task -> level -> state -> n) summed by state, in words."""
    totals: Counter[str] = Counter()
    for levels in counts.values():
        for states in levels.values():
            totals.update(states)
    shown = ", ".join(f"{STATES.get(s, s)} {number_text(n)}" for s, n in totals.most_common())
    return shown or str(WORDS.no_figures())
