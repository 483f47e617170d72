"""A ``direkt serve`` whose citizens and staff log in through two of the project's test issuers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from oidc_issuer import CLIENT_ID, CLIENT_SECRET, Issuer
from support import ServerProcess


@dataclass
class Brokers:
    server: ServerProcess
    citizens: Issuer
    staff: Issuer

    def reset(self) -> Brokers:
        """Both issuers back to well-behaved providers (for a test that changes one)."""
        self.citizens.reset()
        self.staff.reset()
        return self


@contextmanager
def brokers_on(redis_url: str) -> Iterator[Brokers]:
    """The server, with its own callbacks registered at both issuers."""
    with Issuer() as citizens, Issuer(subject_claim="preferred_username") as staff_idp:
        process = ServerProcess(
            redis_url,
            DIREKT_OIDC_ISSUER=citizens.url,
            DIREKT_OIDC_CLIENT_ID=CLIENT_ID,
            DIREKT_OIDC_CLIENT_SECRET=CLIENT_SECRET,
            DIREKT_STAFF_OIDC_ISSUER=staff_idp.url,
            DIREKT_STAFF_OIDC_CLIENT_ID=CLIENT_ID,
            DIREKT_STAFF_OIDC_CLIENT_SECRET=CLIENT_SECRET,
        )
        try:
            citizens.redirect_uris.add(process.url("/auth/oidc/callback"))
            staff_idp.redirect_uris.add(process.url("/auth/staff/oidc/callback"))
            yield Brokers(process, citizens, staff_idp)
        finally:
            process.stop()
