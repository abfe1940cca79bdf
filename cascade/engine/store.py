"""The store: campaigns, units, instances, signals, events and the outbox, in SQL.

Instants are integer seconds since the epoch (UTC): the same on SQLite and PostgreSQL,
cheap to index and compare, and converted to the campaign's timezone only at the edges.
The schema is created and upgraded by Alembic (`cascade/migrations`); `open_store`
brings any database to the current revision before use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    exc,
    text,
)

from cascade.engine.bulk import dumps
from cascade.engine.faults import StoreFault, shown, sqlite_path
from cascade.i18n import _

metadata = MetaData()

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("calendar", String(16), nullable=False),
    Column("issued_at", BigInteger, nullable=False),
    Column("summary_at", BigInteger, nullable=False),
    Column("summary_sent_at", BigInteger),
    Column("levels", JSON, nullable=False),
    Column("tasks", JSON, nullable=False),  # the rules a tick needs, per task and report
    Column("source_file", Text, nullable=False),
    Column("plan_hash", String(64), nullable=False),
    Column("deployed_at", BigInteger, nullable=False),
    Column("archived_at", BigInteger),
    Column("rescan", Boolean, nullable=False, default=True),  # re-check every held instance next tick
    Column("operator", JSON),  # the contact that hears about broken channels: {name, channels}
    Column("issued_by", Text),  # the issuing body, as the documents name it
    Column("ticked_at", BigInteger),  # wall clock of the last run that ticked it (idle or not)
    Column("tick_interval", Integer),  # seconds between its scheduled runs, as last deployed
    Column("stalled_alert_at", BigInteger),  # the watchdog told the operator it stopped ticking
    Column("document", JSON),  # the summary's heading and signature (the format's `document`)
    # the instant (engine time) of the last tick, idle or not: what its states are as of (a tick
    # that finds nothing due writes no `ticks` row; revision 0015, NULL until the next tick)
    Column("checked_at", BigInteger),
)

# The tick that holds a campaign's lock (see cascade.engine.locks): no foreign key, so that writing
# it never waits on the campaign row the tick has locked.
tick_holders = Table(
    "tick_holders",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("run", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("since", BigInteger, nullable=False),
    Column("token", String(32), nullable=False),
)

units = Table(
    "units",
    metadata,
    Column("campaign_id", String(64), ForeignKey("campaigns.id"), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", String(32), nullable=False),
    Column("path", Text, nullable=False),  # ancestor ids from the root to this unit, "/"-joined
    Column("archived", Boolean, nullable=False, default=False),
    # its place in the units file, top-down and children as written: the order people read units
    # in (revision 0014; NULL until the campaign's next deploy: `IN_FILE_ORDER` then orders by path)
    Column("position", Integer),
    Index("ix_units_path", "campaign_id", "path"),  # units in tree order (the board), a subtree a range
)

# units in the order people read them: the file's (`position`), else (deployed before revision 0014,
# not since) by their ancestry's ids
IN_FILE_ORDER = (units.c.position, units.c.path)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", String(64), nullable=False),
    Column("unit_id", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("name", Text),
    Column("channels", JSON, nullable=False),  # [["email", "a@b.vn"], ["zalo", "849..."]] in fallback order
    Index("ix_contacts_unit", "campaign_id", "unit_id"),
)

instances = Table(
    "instances",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", String(64), nullable=False),
    Column("task_id", String(64), nullable=False),
    Column("unit_id", String(64), nullable=False),
    Column("kind", String(8), nullable=False),  # task | report
    Column("state", String(12), nullable=False),  # held open done done_late overdue exempt
    Column("opens_on", String(16), nullable=False),  # issued prerequisite source-signal request
    Column("open_at", BigInteger),
    Column("prereq_task", String(64)),
    Column("prereq_unit", String(64)),
    Column("opened_at", BigInteger),
    Column("deadline", BigInteger),
    # an extension standing (`cascade extend`): the deadline the file gives, which its lift restores
    Column("file_deadline", BigInteger),
    Column("done_at", BigInteger),
    Column("fields", JSON),  # a report's: the figures the unit stands behind (computed, or corrected)
    Column("computed", JSON),  # a report's roll-up of its children when it was submitted
    Column("next_reminder_at", BigInteger),
    Column("stage", Integer, nullable=False, default=0),  # last escalation stage sent
    Column("next_escalation_at", BigInteger),
    Column("next_action_at", BigInteger),
    Column("archived", Boolean, nullable=False, default=False),
    Column("tick", Integer),  # the tick that last changed this row
    UniqueConstraint("campaign_id", "task_id", "unit_id", name="uq_instance"),
    Index("ix_instances_due", "campaign_id", "next_action_at"),
    Index("ix_instances_prereq", "campaign_id", "prereq_task", "prereq_unit"),
)

signals = Table(
    "signals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", String(64), nullable=False),
    Column("task_id", String(64), nullable=False),
    Column("unit_id", String(64), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("fields", JSON, nullable=False),
    Column("digest", String(64), nullable=False),  # the same signal twice has the same digest
    Column("received_at", BigInteger, nullable=False),
    Column("source", String(32), nullable=False),
    Column("applied_tick", Integer),  # the tick that applied it (0: withdrawn before any did)
    Column("note", Text),  # the operator's note: how the news came ("Công văn 45-CV/HU")
    Column("withdrawn_at", BigInteger),  # `cascade withdraw`: recorded by mistake, applied by no tick
    Column("withdrawn_reason", Text),
    UniqueConstraint("campaign_id", "digest", name="uq_signal"),
    Index("ix_signals_pending", "campaign_id", "applied_tick", "at"),
    Index(  # the signals waiting, in time order (revision 0010)
        "ix_signals_waiting",
        "campaign_id",
        "at",
        sqlite_where=text("applied_tick IS NULL"),
        postgresql_where=text("applied_tick IS NULL"),
    ),
    Index(  # the signals waiting for each instance, earliest first (revision 0013)
        "ix_signals_waiting_by_instance",
        "campaign_id",
        "task_id",
        "unit_id",
        "at",
        sqlite_where=text("applied_tick IS NULL"),
        postgresql_where=text("applied_tick IS NULL"),
    ),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", String(64), nullable=False),
    Column("tick", Integer, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("task_id", String(64)),
    Column("unit_id", String(64)),
    Column("data", JSON, nullable=False),  # to, stage, late, and further keys
    Index("ix_events_at", "campaign_id", "at", "id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", String(64), nullable=False),
    Column("tick", Integer, nullable=False),
    Column("send_at", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("recipient_unit", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("channels", JSON, nullable=False),
    Column("digest_key", String(200), nullable=False),
    Column("payload", JSON, nullable=False),
    # pending -> sending (claimed by one dispatcher) -> sent | failed | duplicate | settled (its
    # instance finished, exempted or re-timed before it went out); logged (no channels)
    Column("status", String(12), nullable=False, default="pending"),
    Column("claim", String(32)),  # the dispatcher run that holds a `sending` row
    Column("claimed_at", BigInteger),  # wall-clock seconds: a claim older than the lease is stale
    Index("ix_outbox_pending", "status", "send_at"),
    Index("ix_outbox_claim", "claim", "digest_key"),
)

# The delivery log: one row per notice, written with the notice's final status.
deliveries = Table(
    "deliveries",
    metadata,
    Column("outbox_id", Integer, primary_key=True),
    Column("campaign_id", String(64), nullable=False),
    Column("key", String(40), nullable=False, unique=True),  # the notice's idempotency key
    Column("channel", String(16)),  # the channel that delivered it, or the last one tried
    Column("address", Text),
    Column("attempts", Integer, nullable=False),  # all channels, all dispatches
    Column("result", String(12), nullable=False),  # sent | failed | pending (will be retried)
    Column("provider_id", Text),  # Zalo's message id; for email the X-Cascade-Key header
    Column("tries", JSON, nullable=False),  # [{channel, address, attempts, ok, error, detail}]
    Column("at", BigInteger, nullable=False),  # wall clock of the last attempt
)

# Channels that failed a whole dispatch; the operator's alert is retried until delivered, and the
# row is cleared when the channel works again.
channel_alerts = Table(
    "channel_alerts",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("since", BigInteger, nullable=False),
    Column("detail", Text, nullable=False),
    # the alert is a notice of its own: told (wall clock, channel:address) or tried again each run
    Column("delivered_at", BigInteger),
    Column("delivered_by", Text),
    Column("tries", Integer, nullable=False, default=0, server_default="0"),
    Column("last_error", Text),
)

# The Zalo OA's access token (about 25 hours) and its single-use refresh token (about 3 months):
# refreshed under this row's lock, so two dispatchers never spend the refresh token twice.
# Secrets: the store is owner-only (SQLite 0600) and they are never logged.
zalo_tokens = Table(
    "zalo_tokens",
    metadata,
    Column("app_id", String(64), primary_key=True),
    Column("access_token", Text, nullable=False),
    Column("refresh_token", Text, nullable=False),
    Column("expires_at", BigInteger, nullable=False),  # wall clock, from the answer's expires_in
    Column("refreshed_at", BigInteger, nullable=False),
)

ticks = Table(
    "ticks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", String(64), nullable=False),
    Column("now", BigInteger, nullable=False),
    Column("counts", JSON, nullable=False),
)

# A decision about one unit's instance (spec §7): kept apart from the campaign file, so that a
# redeploy keeps it. An extension's deadline wins over the file's when it is later.
decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", String(64), nullable=False),
    Column("task_id", String(64), nullable=False),
    Column("unit_id", String(64), nullable=False),
    Column("kind", String(12), nullable=False),  # extension | exemption | lifted | unextended
    Column("deadline", BigInteger),  # an extension's new deadline
    Column("reason", Text, nullable=False),
    Column("by", Text, nullable=False),  # the operator, or the parent unit that approved a request
    Column("at", BigInteger, nullable=False),
    Column("request_id", Integer),  # the unit's request it answers, if any
    Index("ix_decisions_instance", "campaign_id", "task_id", "unit_id"),
)

# A unit's request for more time, from its signed link; answered once by its parent.
extension_requests = Table(
    "extension_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", String(64), nullable=False),
    Column("task_id", String(64), nullable=False),
    Column("unit_id", String(64), nullable=False),
    Column("deadline", BigInteger, nullable=False),  # the proposed deadline
    Column("reason", Text, nullable=False),
    Column("requested_at", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),  # pending | approved | denied
    Column("answered_at", BigInteger),
    Column("answered_by", Text),
    Index("ix_extension_requests_instance", "campaign_id", "task_id", "unit_id"),
)

MIGRATIONS = Path(__file__).parent / "migrations"

# A tick holds its campaign's row lock for its transaction: if the host running it is lost
# (power, network) or its process freezes, PostgreSQL must free the lock in minutes, not after
# the kernel's two-hour keepalive. Server-side TCP keepalives find a lost client in ~1 minute
# (30 s idle, then 3 probes 10 s apart); a session idle inside a transaction for 10 minutes (a
# frozen process: its kernel still answers the probes) is ended. The client side probes too, so
# a tick notices a lost database instead of hanging.
POSTGRES_CONNECT_ARGS: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "options": "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3"
    " -c idle_in_transaction_session_timeout=600000",
}


def open_store(url: str, durable: bool = True, read_only: bool = False) -> Engine:
    """An engine on `url`, its schema upgraded to the current revision. `durable=False` (a
    simulation's throwaway SQLite store) skips fsync: a killed process still loses nothing,
    only a power cut could, and the store is deleted afterwards anyway. `read_only` (status,
    report, events) writes nothing, not even the migration check, so it also works on a
    read-only copy; its schema must be current. A store that cannot be opened raises
    StoreFault with what to do."""
    try:
        return _open(url, durable, read_only)
    except (exc.OperationalError, exc.DatabaseError, OSError) as error:
        raise StoreFault.of(error, url) from None


def _open(url: str, durable: bool, read_only: bool) -> Engine:
    if not read_only:
        _owner_only(url)
    # SQLite: a tick waits up to 30 s for another writer (two runs of one campaign overlap)
    connect_args: dict[str, Any] = {"timeout": 30} if url.startswith("sqlite") else {}
    if url.startswith("postgresql"):
        connect_args = POSTGRES_CONNECT_ARGS
    target = url
    if read_only and url.startswith("sqlite:///"):
        # SQLite's own read-only mode; `immutable` also reads a copy whose folder is read-only
        # (no -shm to create): nothing else may write it meanwhile, true of a copy
        path = sqlite_path(url)
        if path is None or not path.exists():
            raise StoreFault(
                _("no store at {path}: deploy a campaign first (cascade deploy FILE)", path=path)
            )
        immutable = "&immutable=1" if not os.access(path.parent, os.W_OK) else ""
        target = f"sqlite:///file:{path}?mode=ro{immutable}&uri=true"
    engine = create_engine(
        target,
        json_serializer=dumps,
        json_deserializer=orjson.loads,
        connect_args=connect_args,
        # a server restarted (maintenance, a fail-over) leaves the pool's connections dead: each is
        # checked as it is taken (one round trip) and replaced, instead of failing a tick or a request
        pool_pre_ping=url.startswith("postgresql"),
    )
    if engine.dialect.name == "sqlite":
        pragmas = (
            _sqlite_read_pragmas if read_only else _sqlite_pragmas if durable else _sqlite_scratch_pragmas
        )
        event.listen(engine, "connect", pragmas)
    from alembic import command  # here, not at import: every command loads this module, few open a store
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if read_only:
        _check_revision(engine, config, url)
        return engine
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return engine


def _check_revision(engine: Engine, config: Any, url: str) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        raise StoreFault(
            _(
                "the store {store} is at schema revision {current}, this Cascade reads {head}: run a "
                "command that writes (cascade deploy, or cascade tick) on the store itself once",
                store=shown(url),
                current=current,
                head=head,
            )
        )


def integrity_problems(engine: Engine) -> list[str]:
    """What SQLite's quick check finds wrong with the store ([] when sound; PostgreSQL: [])."""
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as connection:
        rows = [str(r[0]) for r in connection.exec_driver_sql("PRAGMA quick_check")]
    return [] if rows == ["ok"] else rows


def _owner_only(url: str) -> None:
    """A SQLite store holds officials' contacts: its file (and so its -wal and -shm, which
    SQLite creates with the file's mode) is readable by its owner only."""
    path = sqlite_path(url)
    if path is None:
        return
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    elif path.stat().st_mode & 0o077:
        path.chmod(0o600)


def _sqlite_read_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _sqlite_scratch_pragmas(dbapi_connection: object, record: object) -> None:
    _sqlite_pragmas(dbapi_connection, record)
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB: a national campaign's working set
    cursor.execute("PRAGMA wal_autocheckpoint=16384")
    cursor.close()


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (status) never block the tick
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
