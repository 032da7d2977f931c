"""Settings several groups of functions share: signed links, and email through SES."""

from __future__ import annotations

from pydantic import Field

from entraide.settings.base import Addresses, OptionalFolder, Settings
from entraide.settings.public import PublicUrlSettings


class SigningSettings(Settings):
    """The key of signed links (a Secrets Manager secret) and how long links live."""

    link_signing_secret: str = Field(alias="LINK_SIGNING_SECRET", min_length=1)
    link_ttl_hours: int = Field(default=72, alias="LINK_TTL_HOURS", gt=0, le=24 * 30)


class MailSettings(PublicUrlSettings):
    """Emails through SES: the sender, the base of links, the local stack's outbox."""

    sender_email: str = Field(alias="SENDER_EMAIL", min_length=3)
    # Local stack only: a copy of every email sent is written there.
    outbox_dir: OptionalFolder = Field(default=None, alias="OUTBOX_DIR")


class LinkSettings(SigningSettings):
    """What signing and checking moderation links needs."""

    moderator_emails: Addresses = Field(alias="MODERATOR_EMAILS", min_length=1)
