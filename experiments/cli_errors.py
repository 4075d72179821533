"""How the Hydra entry points report a user's mistake: one clear line, not a traceback.

Every error a user can cause derives from :class:`~shadowsim.errors.ShadowSimError`, and its
message already names the config key, file, line or column, what was expected and how to
fix it. :func:`reports_errors` wraps an entry point so such an error is printed as
``error: <message>`` on stderr and the process exits with status 2 (the usual status of a
command-line usage error). Anything else (a bug) keeps Hydra's report; set
``HYDRA_FULL_ERROR=1`` to get the full traceback of a ShadowSimError too.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

from omegaconf import DictConfig

from shadowsim.errors import ShadowSimError

R = TypeVar("R")

USAGE_ERROR_STATUS = 2


def reports_errors(task: Callable[[DictConfig], R]) -> Callable[[DictConfig], R]:
    """Wrap a Hydra task function, under ``hydra.main`` (as :mod:`experiments.entry_point` does).

    Args:
        task: The entry point's task function.

    Returns:
        The same function, printing a :class:`ShadowSimError` as one line and exiting
        with status 2 instead of raising it (unless ``HYDRA_FULL_ERROR=1``).
    """

    @functools.wraps(task)
    def run(cfg: DictConfig) -> R:
        try:
            return task(cfg)
        except ShadowSimError as err:
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            usage_error(str(err), cause=err)

    return run


def usage_error(message: str, *, cause: BaseException | None = None) -> NoReturn:
    """Print ``error: <message>`` on stderr and exit with status 2."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(USAGE_ERROR_STATUS) from cause
