"""A stream consumer for tests: appends every event it receives to RECORD_FILE (JSON lines).

Until the moderation issue adds the first real consumer of the table's stream, the
integration tests subscribe this handler to it in a copy of template.yaml.
"""

from __future__ import annotations

import json
import os
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with open(os.environ["RECORD_FILE"], "a", encoding="utf-8") as record_file:
        record_file.write(json.dumps(event) + "\n")
    return {"batchItemFailures": []}
