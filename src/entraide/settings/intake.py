"""Settings of the ``ingest_offer`` function: the posters' pseudonyms' key."""

from __future__ import annotations

from entraide.settings.shared import PseudonymSettings


class IntakeSettings(PseudonymSettings):
    """The ingest_offer function: it writes the poster's history under their pseudonym."""
