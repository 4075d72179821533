"""The one decorator of the Hydra entry points: config, command-line checks, error reports.

``@entry_point("evaluate")`` on a task function ``main(cfg)`` gives what the three steps did
when written out: Hydra's ``main`` over ``conf/evaluate.yaml`` (the absolute ``conf/``
folder, so it does not depend on where the caller's file is), the command line's overrides
checked first (:func:`~experiments.override_check.checks_overrides`: a misspelt key or option
gets its nearest names) and a user's mistake reported as one line with exit status 2
(:func:`~experiments.cli_errors.reports_errors`). The config name is written once. Called
with a config (``main(cfg)``, as the tests do), the task runs on it directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hydra
from omegaconf import DictConfig

from experiments.cli_errors import reports_errors
from experiments.override_check import CONF, checks_overrides


def entry_point(config_name: str) -> Callable[[Callable[[DictConfig], Any]], Callable[..., Any]]:
    """Decorate an entry point's task function.

    Args:
        config_name: Its config under ``conf/`` (e.g. ``evaluate``, ``live/deploy``).

    Returns:
        The decorator: ``main()`` runs from the command line, ``main(cfg)`` on a config.
    """

    def wrap(task: Callable[[DictConfig], Any]) -> Callable[..., Any]:
        run_hydra = hydra.main(config_path=str(CONF), config_name=config_name, version_base=None)
        main: Callable[..., Any] = run_hydra(reports_errors(task))
        return checks_overrides(config_name)(main)

    return wrap
