"""Settings of the ``watch`` function: the networks' secrets, where the watch's file is."""

from __future__ import annotations

from pydantic import Field

from entraide.settings.base import Addresses
from entraide.settings.shared import EffectSettings, MailSettings, SigningSettings


class WatchSettings(EffectSettings, MailSettings, SigningSettings):
    """The watch's collection (each network without its secret left out of the runs) and
    its digest (the community managers, the signed links' key, the ledger)."""

    # The same secrets as the channels' (the account's own keys read the searches).
    x_credentials_secret: str = Field(default="", alias="X_CREDENTIALS_SECRET")
    bluesky_credentials_secret: str = Field(default="", alias="BLUESKY_CREDENTIALS_SECRET")
    # An operator's copy of the watch's file in S3 (empty: the file packaged with the code).
    watch_file_bucket: str = Field(default="", alias="WATCH_FILE_BUCKET")
    watch_file_key: str = Field(default="watch.yaml", alias="WATCH_FILE_KEY", min_length=1)
    # The read dry run (local stack): a folder of recorded answers read instead of the
    # networks, through their real clients (``entraide.watch.recorded``). Empty: the networks.
    watch_recorded_answers: str = Field(default="", alias="WATCH_RECORDED_ANSWERS")
    # Hours between runs while no activation is open (every hour during one).
    watch_every_hours: int = Field(default=3, alias="WATCH_EVERY_HOURS", ge=1, le=24)
    # Who gets the digest and may use its links (the community managers); none: no digest.
    watch_digest_recipients: Addresses = Field(default=(), alias="WATCH_DIGEST_RECIPIENTS")
    # Where a Relayer's repost goes (the sweep finishes one a click left due).
    relay_queue_url: str = Field(alias="RELAY_QUEUE_URL", min_length=1)


class WatchLinkSettings(EffectSettings, SigningSettings):
    """The digest's links, in the decision function: who may use them, where reposts go."""

    watch_digest_recipients: Addresses = Field(default=(), alias="WATCH_DIGEST_RECIPIENTS")
    relay_queue_url: str = Field(alias="RELAY_QUEUE_URL", min_length=1)
    public_base_url: str = Field(default="", alias="PUBLIC_BASE_URL", pattern=r"^(https?://.*)?$")
