"""The one JSON object every experiment prints as its last line."""

from __future__ import annotations

import json
from typing import Any

import numpy as np


def json_default(value: Any) -> Any:
    """numpy scalars as Python numbers, tuples as lists, anything else as its ``str``."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def print_json_line(payload: Any) -> None:
    """Print ``payload`` as one line of JSON (the experiment's machine-readable result)."""
    print(json.dumps(payload, default=json_default), flush=True)
