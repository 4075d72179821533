"""A misspelt override gets the nearest names before Hydra runs (experiments.override_check)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.override_check import override_problem

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ["policy=hpaa"],
            "override 'policy=hpaa': config group 'policy' has no option 'hpaa'; did you mean "
            "'hpa' or 'vpa'? Options: autopilot_peak, autopilot_percentile, hpa, oracle, "
            "predictive_scaling, sb3, seed_literal, seed_threshold, shadow, static_peak, vpa "
            "(conf/policy/)",
        ),
        (
            ["workload=bitbrain"],
            "config group 'workload' has no option 'bitbrain'; did you mean 'bitbrains'? "
            "Options: alibaba, bitbrains, csv, planetlab, synthetic (conf/workload/)",
        ),
        (
            ["workload=bitbrains", "workload.pth=x"],
            "override 'workload.pth=x': workload=bitbrains has no key 'pth'; did you mean "
            "'workload.path'?",
        ),
        (
            ["workload.pth=x"],
            "override 'workload.pth=x': workload=synthetic has no key 'pth'; the keys of "
            "workload=alibaba, bitbrains, csv, planetlab include 'path': select one of them "
            "first (e.g. workload=alibaba workload.path=...)",
        ),
        (
            ["env.engin.reward.w_sla=1"],
            "env=default has no key 'engin'; did you mean 'env.engine.reward.w_sla'?",
        ),
        (
            ["env.engine.reward.w_slaa=1"],
            "env.engine.reward has no key 'w_slaa'; did you mean 'env.engine.reward.w_sla'?",
        ),
        (["sedes=[0,1]"], "the config has no key 'sedes'; did you mean 'seeds'?"),
        (
            ["hydra/launcher=basicc"],  # Hydra's own group: no conf/ folder to point at
            "config group 'hydra/launcher' has no option 'basicc'; did you mean 'basic'? "
            "Options: basic$",
        ),
        (["hydra.run.dirr=out"], "hydra.run has no key 'dirr'; did you mean 'hydra.run.dir'?"),
    ],
)
def test_a_misspelt_override_gets_the_nearest_names(overrides: list[str], expected: str) -> None:
    problem = override_problem("evaluate", overrides)
    assert problem is not None
    anchored = expected.endswith("$")  # the message ends there
    assert re.search(re.escape(expected.removesuffix("$")) + ("$" if anchored else ""), problem)


def test_a_key_with_no_near_name_lists_the_keys_there() -> None:
    problem = override_problem("live/deploy", ["deploy.intervall_s=3"])
    assert problem is not None
    assert problem.startswith("override 'deploy.intervall_s=3': deploy has no key 'intervall_s'.")
    assert "Its keys: ticks, warmup_ticks," in problem


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["policy=vpa", "workload=bitbrains", "workload.path=/nowhere", "seeds=[0,1]"],
        ["hydra.run.dir=/tmp/out", "+policy.extra=1"],
        ["-m", "policy=hpaa"],  # Hydra flags: Hydra's own handling
        ["policy=hpa,vpa"],  # a sweep without -m: Hydra explains it
        ["~workload.seedd"],  # a deletion: Hydra names it
        ["filter=tags.window LIKE '%bitbrains%'"],  # not Hydra's grammar: Hydra explains it
    ],
)
def test_what_composes_or_hydra_explains_is_left_to_hydra(argv: list[str]) -> None:
    assert override_problem("evaluate", argv) is None


def _command(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m experiments.ARGV...`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=False,
    )


def test_the_entry_points_check_their_command_line() -> None:
    """The real command: one line on stderr, exit status 2, before any work."""
    run = _command("experiments.simulate", "cluster.n_hostss=3")
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == (
        "error: override 'cluster.n_hostss=3': cluster=default has no key 'n_hostss'; "
        "did you mean 'cluster.n_hosts'?"
    )
    assert run.stdout == ""


def test_an_override_hydra_cannot_parse_gets_hydras_message_not_a_traceback() -> None:
    run = _command("experiments.compare", "filter=tags.window LIKE '%bitbrains%'")
    assert run.returncode == 1
    assert "extraneous input" in run.stderr
    assert "Traceback" not in run.stderr
