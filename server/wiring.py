"""Everything a request handler needs, built once per process after Redis is up."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from direkt.queue.scripts import RedisClient
from direkt.queue.waitroom import Waitroom
from direkt.server.booking.schedule import DEFAULT_SCHEDULES, load_schedules
from direkt.server.booking.service import Bookings
from direkt.server.booking.store import BookingStore
from direkt.server.care.audit import AuditLog
from direkt.server.care.casefile import CaseFiles
from direkt.server.care.catalogue import Catalogue, load_catalogue
from direkt.server.care.notices import FanoutNotifier, Notifier, SmsGateway
from direkt.server.care.templates import Templates
from direkt.server.care.transcript import Transcripts
from direkt.server.care.triageflow import TriageFlow
from direkt.server.care.writeguard import WriteGuards
from direkt.server.identity.guardians import GuardianSource, guardian_source
from direkt.server.identity.oidcsettings import OidcClients
from direkt.server.identity.sessions import SessionStore, citizen_uid
from direkt.server.liveconfig import LiveConfig
from direkt.server.metrics import Metrics
from direkt.server.redis.fanout import Fanout
from direkt.server.region import RegionConfig
from direkt.server.settings import Settings
from direkt.server.ws.calls import Calls
from direkt.signaling.echo import EchoPeers
from direkt.triage.model import KnowledgeBase


@dataclass
class Services:
    settings: Settings
    live: LiveConfig
    kb: KnowledgeBase
    client: RedisClient
    waitroom: Waitroom
    sessions: SessionStore
    files: CaseFiles
    transcripts: Transcripts
    triage: TriageFlow
    templates: Templates
    audit: AuditLog
    notifier: Notifier
    fanout: Fanout
    http: httpx.AsyncClient
    clock: Callable[[], int]
    calls: Calls
    calltest: EchoPeers
    guards: WriteGuards
    metrics: Metrics
    oidc: OidcClients  # the OpenID Connect relying parties by audience, with their caches

    guardians: GuardianSource  # who a guardian's children are, asked at each access (issue 23)
    bookings: Bookings  # booked visits from the units' schedules (issue 24, server/booking/)
    catalogue: Catalogue  # the referral catalogue (issue 24), read and checked at start

    @property
    def config(self) -> RegionConfig:
        """The region configuration now: read it afresh for each decision, never keep it."""
        return self.live.current


def build_services(
    settings: Settings,
    live: LiveConfig,
    kb: KnowledgeBase,
    waitroom: Waitroom,
    http: httpx.AsyncClient,
    metrics: Metrics,
) -> Services:
    client, clock = waitroom.client, waitroom.clock
    config = live.current
    notifiers: list[Notifier] = []
    if settings.sms_url:
        sender = lambda: live.current.brand.sms_sender  # noqa: E731 - the live configuration's, per message
        notifiers.append(SmsGateway(settings.sms_url, http, sender=sender, token=settings.sms_token))
    transcripts = Transcripts.for_client(client)
    catalogue = load_catalogue(settings.catalogue)
    triage = TriageFlow(client, kb, config, clock, metrics)
    live.follow(functools.partial(_swap, waitroom, triage))
    _swap(waitroom, triage, config, config)
    return Services(
        settings=settings,
        live=live,
        kb=kb,
        client=client,
        waitroom=waitroom,
        sessions=SessionStore(client, clock, settings.session_lifetime_seconds),
        files=CaseFiles(client, functools.partial(citizen_uid, settings.secret)),
        transcripts=transcripts,
        triage=triage,
        templates=Templates(client, lambda: live.current),
        audit=AuditLog(client, settings.audit_path),
        notifier=FanoutNotifier(notifiers),
        fanout=Fanout(client, settings.redis_timeout_seconds),
        http=http,
        clock=clock,
        calls=Calls(settings, client, waitroom, transcripts, clock),
        calltest=EchoPeers(settings.ice.public_servers(), settings.calltest_max),
        guards=WriteGuards(client),
        metrics=metrics,
        oidc=OidcClients(settings.oidc_configs, http),
        guardians=guardian_source(settings, http, lambda: live.current),
        bookings=_bookings(settings, live, client, clock, catalogue),
        catalogue=catalogue,
    )


def _bookings(
    settings: Settings, live: LiveConfig, client: RedisClient, clock: Callable[[], int], catalogue: Catalogue
) -> Bookings:
    """The schedules are read and checked against the units of the region and the catalogue once,
    at start (the demo schedules only for the units there are)."""
    units = {*live.current.directory.units, *(u.id for u in catalogue.units)}
    if settings.schedules:
        schedules = load_schedules(Path(settings.schedules), units)
    else:
        schedules = load_schedules(DEFAULT_SCHEDULES, units, only_known=True)
    return Bookings(BookingStore(client), lambda: schedules, lambda: live.current.directory.calendar, clock)


def _swap(waitroom: Waitroom, triage: TriageFlow, _old: RegionConfig, new: RegionConfig) -> None:
    """The one place where what keeps its own copy of the configuration gets the new one."""
    waitroom.directory = new.directory
    triage.config = new
