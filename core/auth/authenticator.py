"""`Authenticator`: from a request's `Authorization` header to its `Principal`."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from core.auth import keys, stamp
from core.auth.directory import Directory
from core.auth.grants import Grants
from core.auth.principal import LOCAL_ADMIN, Principal
from core.auth.settings import AuthSettings
from core.auth.verify import ApiKeyVerifier, TokenVerifier
from core.db.engine import Database
from core.errors import ConfigurationError, Unauthorized

MAX_KNOWN = 10_000  # callers remembered per process; past it, start over
NO_AUTH_REMOTE = (
    "this server has no authentication configured, so it answers only on its loopback "
    "address; set KB_AUTH__ENABLED=true and create keys with `kb keys create`"
)


def is_loopback(host: str | None) -> bool:
    """Whether `host` is a loopback address or name (what 'local only' means)."""
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address((host or "").strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: AuthSettings, host: str) -> None:
    """Refuse to listen beyond loopback without authentication."""
    if not settings.enabled and not is_loopback(host):
        raise ConfigurationError(
            f"refusing to listen on {host} without authentication: anyone who can reach it "
            "could read and delete every knowledge base. Set KB_AUTH__ENABLED=true (and create "
            "an admin key: kb users add admin --admin; kb keys create --user admin --scope "
            "admin), or listen on 127.0.0.1"
        )


class Authenticator:
    """Verifies bearer tokens with each verifier in turn, then adds groups and grants."""

    def __init__(
        self,
        settings: AuthSettings,
        db: Database,
        verifiers: Sequence[TokenVerifier] = (),
    ) -> None:
        self.settings = settings
        self.directory = Directory(db)
        self.grants = Grants(db)
        # API keys first: they are recognisable by their prefix and cost one indexed read.
        self.verifiers: list[TokenVerifier] = [ApiKeyVerifier(self.directory), *verifiers]
        self._db = db
        # API-key callers resolved before: token digest -> (stamp, principal, key expiry).
        self._known: dict[str, tuple[tuple[int, int], Principal, str | None]] = {}

    async def principal(self, authorization: str | None, client_host: str | None) -> Principal:
        """The caller; Unauthorized when it cannot be established."""
        if not self.settings.enabled:
            if not is_loopback(client_host):
                raise Unauthorized(NO_AUTH_REMOTE)
            return LOCAL_ADMIN
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(
                "missing API key: send `Authorization: Bearer <key>` (the OpenAI SDK's api_key)"
            )
        token = token.strip()
        with self._db.read() as conn:
            now = stamp.read(conn)
        digest = keys.digest(token)
        if (known := self._known.get(digest)) is not None:
            then, principal, expires = known
            if then == now and not keys.expired(expires):
                return principal
        for verifier in self.verifiers:
            identity = await verifier.identify(token)
            if identity is None:
                continue
            groups = identity.groups | self.directory.groups_of(identity.user)
            grants = {} if identity.is_admin else self.grants.effective(identity.user, groups)
            principal = Principal(
                user=identity.user, key_id=identity.key_id, scopes=identity.scopes,
                groups=groups, is_admin=identity.is_admin, grants=grants,
            )  # fmt: skip
            if identity.key_id is not None:  # tokens of a provider expire on their own terms
                if len(self._known) >= MAX_KNOWN:
                    self._known.clear()
                self._known[digest] = (now, principal, identity.expires_at)
            return principal
        raise Unauthorized("invalid API key: not a key or token this server accepts")
