"""Every Hydra command line the README shows composes (its keys, options and quoting are valid)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from shadowsim.config_store import register_configs

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {
    "simulate": "simulate",
    "evaluate": "evaluate",
    "train": "train",
    "tune": "tune",
    "compare": "compare",
    "policy_quality": "policy_quality",
    "bench_forecast": "bench_forecast",
    "deploy": "live/deploy",
}


def readme_commands() -> list[tuple[str, list[str]]]:
    """(entry point, arguments) of each ``python -m experiments.X`` line in README's code blocks
    (a placeholder such as ``<date>`` is one the reader fills in: read as ``X``)."""
    text = (ROOT / "README.md").read_text()
    found: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in re.sub(r"<[^>\n]+>", "X", block).replace("\\\n", " ").splitlines():
            for part in re.split(r"\s&&\s", line):
                words = shlex.split(part, comments=True)
                if len(words) >= 3 and words[:2] == ["python", "-m"]:
                    name = words[2].removeprefix("experiments.")
                    if name in CONFIGS:
                        found.append((name, words[3:]))
    return found


COMMANDS = readme_commands()


def test_the_readme_shows_commands_of_every_kind() -> None:
    assert {name for name, _ in COMMANDS} >= {"simulate", "evaluate", "train", "compare", "deploy"}


@pytest.mark.parametrize(("name", "args"), COMMANDS, ids=[" ".join([n, *a]) for n, a in COMMANDS])
def test_a_readme_command_line_composes(name: str, args: list[str]) -> None:
    config = CONFIGS[name]
    if "--config-name" in args:
        config = args[args.index("--config-name") + 1]
    if "-m" in args:  # a sweep: compose its first point
        args = [_first_point(a) for a in args if a != "-m"]
    overrides = [a for a in args if a != "--config-name" and a != config]
    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        compose(config_name=config, overrides=overrides)


def _first_point(override: str) -> str:
    """``policy=hpa,vpa`` -> ``policy=hpa`` (lists and dicts in brackets are one value)."""
    key, sep, value = override.partition("=")
    if not sep or value[:1] in "[{'\"" or "," not in value:
        return override
    return f"{key}={value.split(',', 1)[0]}"
