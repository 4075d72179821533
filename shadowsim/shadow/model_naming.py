"""Names of registered shadow models and compact application-id tags.

MLflow registered-model names are free text, but names with only ``[A-Za-z0-9._-]`` are
safe in URIs (``models:/name@champion``) and filter strings. :func:`model_name` keeps such
names as they are and rewrites any other character, adding a short hash of the original so
two different application ids never share a model.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from shadowsim.errors import ConfigError, RegistryError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
MAX_TAG_CHARS = 4000
"""Longest tag value written; longer application lists are summarised."""


def model_name(prefix: str, key: str) -> str:
    """The registered model name for an application id or group name.

    Args:
        prefix: Common prefix, e.g. ``"shadow"``.
        key: Application id (per-application models) or group name.

    Returns:
        ``"<prefix>-<key>"`` with unsafe characters replaced by ``_`` plus an 8-hex hash of
        ``key`` when anything was replaced.

    Raises:
        ConfigError: ``prefix`` is empty or itself unsafe.
    """
    if not prefix or _UNSAFE.search(prefix):
        raise ConfigError(
            "shadow.model_prefix",
            f"{prefix!r} must be non-empty and use only letters, digits, '.', '_' and '-'",
        )
    safe = _UNSAFE.sub("_", key)
    if safe != key or not key:
        safe = f"{safe}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:8]}"
    return f"{prefix}-{safe}"


def check_model_name(name: str) -> str:
    """Return ``name`` if it uses only ``[A-Za-z0-9._-]``; else raise.

    Raises:
        RegistryError: The name is empty or has other characters.
    """
    if not name or _UNSAFE.search(name):
        raise RegistryError(
            f"registered model name {name!r} must be non-empty and use only letters, digits, "
            "'.', '_' and '-'; build it with shadowsim.shadow.model_naming.model_name()"
        )
    return name


def tag_list(app_ids: Sequence[str]) -> str:
    """Comma-separated application ids, summarised when longer than :data:`MAX_TAG_CHARS`.

    The full list is always in the artifact's ``meta.json``.
    """
    text = ",".join(app_ids)
    if len(text) <= MAX_TAG_CHARS:
        return text
    head: list[str] = []
    used = 0
    for app in app_ids:
        if used + len(app) + 1 > MAX_TAG_CHARS - 80:
            break
        head.append(app)
        used += len(app) + 1
    rest = len(app_ids) - len(head)
    return f"{','.join(head)},... (+{rest} more; full list in shadow_model/meta.json)"
