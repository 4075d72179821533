"""A misspelt command-line override gets a "did you mean", before Hydra reports it.

Hydra reports a key that is not in the config as ``Could not override 'workload.pth'. To
append to your config use +workload.pth=x`` (which a schema refuses as well), and an option
that is not in a config group with every name it has, the ``*_schema`` entries of the
ConfigStore included. :func:`checks_overrides` composes the entry point's config with the
command line's overrides first (Hydra's Compose API, ~0.1 s); when that fails on an unknown
key or option it prints one line on stderr naming the override, what is there, and the
nearest names, and exits with status 2 (as :mod:`experiments.cli_errors` does)::

    error: override 'workload.pth=x': workload=synthetic has no key 'pth'; the keys of
    workload=alibaba, bitbrains, csv, planetlab include 'path': select one of them first
    (e.g. workload=alibaba workload.path=...)

Anything else, and command lines with Hydra flags (``--multirun``, ``--cfg``, ``--help``, ...),
go to Hydra unchanged.
"""

from __future__ import annotations

import difflib
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from experiments.cli_errors import usage_error

CONF = Path(__file__).resolve().parents[1] / "conf"

F = TypeVar("F", bound=Callable[..., Any])


def checks_overrides(config_name: str) -> Callable[[F], F]:
    """Decorate what ``hydra.main(config_name=...)`` returns (:mod:`experiments.entry_point` does).

    Args:
        config_name: The entry point's config, as given to ``hydra.main``.

    Returns:
        A decorator: called with no arguments (from the command line), the entry point first
        checks ``sys.argv``'s overrides; called with a config (tests), it runs as before.
    """

    def wrap(hydra_main: F) -> F:
        @functools.wraps(hydra_main)
        def run(*args: Any, **kwargs: Any) -> Any:
            if not args and not kwargs:
                problem = override_problem(config_name, sys.argv[1:])
                if problem is not None:
                    usage_error(problem)
            return hydra_main(*args, **kwargs)

        return run  # type: ignore[return-value]

    return wrap


def override_problem(config_name: str, argv: Sequence[str]) -> str | None:
    """What is wrong with a command line's overrides, when it is an unknown key or option.

    Args:
        config_name: The entry point's config (e.g. ``evaluate``, ``live/deploy``).
        argv: The command line after the program (overrides, maybe Hydra flags).

    Returns:
        One line naming the override and the nearest names, or None: the overrides compose,
        the command line has Hydra flags, or the failure is one Hydra explains itself.
    """
    if any(arg.startswith("-") for arg in argv):
        return None
    overrides = list(argv)
    from hydra.errors import ConfigCompositionException, MissingConfigException

    try:
        _compose(config_name, overrides)
    except MissingConfigException as err:
        return _unknown_option(err, overrides)
    except ConfigCompositionException as err:
        full_key = getattr(err.__cause__, "full_key", None)
        if isinstance(full_key, str) and full_key:
            return _unknown_key(config_name, overrides, full_key)
    except Exception:  # e.g. an override Hydra cannot parse: Hydra reports it as usual
        return None
    return None


def _compose(config_name: str, overrides: list[str]) -> Any:
    from hydra import compose, initialize_config_dir

    from shadowsim.config_store import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        return compose(config_name=config_name, overrides=overrides, return_hydra_config=True)


def _override_key(override: str) -> str:
    """``+a.b@pkg=v`` -> ``a.b``."""
    key = override.split("=", 1)[0].lstrip("+~")
    return key.split("@", 1)[0]


def _options(group: str) -> list[str]:
    """The options of a config group: its YAML files (not the ConfigStore's schemas)."""
    folder = CONF / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def _unknown_option(err: Any, overrides: list[str]) -> str | None:
    missing = getattr(err, "missing_cfg_file", None)
    if not isinstance(missing, str) or "/" not in missing:
        return None
    group, name = missing.rsplit("/", 1)
    culprit = next(
        (o for o in overrides if "=" in o and _override_key(o) == group and o.endswith(f"={name}")),
        None,
    )
    if culprit is None:  # not the command line's doing
        return None
    options = [o for o in (getattr(err, "options", None) or []) if not o.endswith("_schema")]
    options = options or _options(group)
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    folder = f" (conf/{group}/)" if (CONF / group).is_dir() else ""  # not Hydra's own groups
    return (
        f"override {culprit!r}: config group '{group}' has no option '{name}'{hint} "
        f"Options: {', '.join(options)}{folder}"
    )


def _unknown_key(config_name: str, overrides: list[str], full_key: str) -> str | None:
    from omegaconf import DictConfig, OmegaConf

    culprit = next(
        (o for o in overrides if "=" in o and (_override_key(o) + ".").startswith(full_key + ".")),
        None,
    )
    if culprit is None:
        return None
    rest = _override_key(culprit)[len(full_key) :]  # ".reward.w_sla" after a wrong "env.engin"
    others = [o for o in overrides if o is not culprit]
    parent, _, leaf = full_key.rpartition(".")
    try:
        cfg = _compose(config_name, others)
    except Exception:  # another override is wrong too: Hydra reports the first
        return None
    node = OmegaConf.select(cfg, parent) if parent else cfg
    if not isinstance(node, DictConfig):
        return None
    keys = [str(k) for k in node if not (parent == "" and k == "hydra")]
    choices = cfg.hydra.runtime.choices
    where = f"{parent}={choices[parent]}" if parent in choices else (parent or "the config")
    close = difflib.get_close_matches(leaf, keys, n=3, cutoff=0.6)
    prefix = f"{parent}." if parent else ""
    if close:
        names = " or ".join(repr(f"{prefix}{c}{rest}") for c in close)
        return f"override {culprit!r}: {where} has no key '{leaf}'; did you mean {names}?"
    elsewhere = _in_other_options(config_name, others, parent, leaf, choices)
    if elsewhere:
        found, opts = elsewhere
        return (
            f"override {culprit!r}: {where} has no key '{leaf}'; the keys of {parent}="
            f"{', '.join(opts)} include '{found}': select one of them first "
            f"(e.g. {parent}={opts[0]} {prefix}{found}{rest}=...)"
        )
    return f"override {culprit!r}: {where} has no key '{leaf}'. Its keys: {', '.join(keys)}"


def _in_other_options(
    config_name: str, others: list[str], group: str, leaf: str, choices: Any
) -> tuple[str, list[str]] | None:
    """The key nearest ``leaf`` in the other options of config group ``group``, if any."""
    from omegaconf import DictConfig, OmegaConf

    if group not in choices:
        return None
    found: dict[str, list[str]] = {}
    for option in _options(group):
        if option == choices[group]:
            continue
        try:
            cfg = _compose(config_name, [*others, f"{group}={option}"])
        except Exception:  # an option that does not compose here has no keys to offer
            continue
        node = OmegaConf.select(cfg, group)
        if isinstance(node, DictConfig):
            close = difflib.get_close_matches(leaf, [str(k) for k in node], n=1, cutoff=0.6)
            if close:
                found.setdefault(close[0], []).append(option)
    if not found:
        return None
    key, opts = max(found.items(), key=lambda kv: len(kv[1]))
    return key, opts
