"""The fields of a post as people type them: their limits, and the honeypot robots fill.

Shared by the validation (:mod:`.submission`) and the form page (:mod:`entraide.web.pages`),
which shows the same limits; importing it builds no pydantic model (cold start).
"""

from __future__ import annotations

# A form field invisible to people (hidden by CSS, out of the tab order); robots fill it.
HONEYPOT_FIELD = "website"

TITLE_MAX = 120
DESCRIPTION_MAX = 1000
COMMUNE_MAX = 100
EMAIL_MAX = 254

#: How far from an alerted département an offer of help is taken: a helper next door (the
#: form invites people nearby to help) is often across the border, a short drive away. A
#: need is taken only inside the alerted départements, where the disaster is.
HELPER_REACH_KM = 50
