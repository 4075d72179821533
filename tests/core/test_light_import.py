"""``import shadowsim`` (and the env and policy packages) stays light: heavy dependencies load
only when the code that needs them runs; the optional ones (ray, libvirt, prophet) not even
when the modules that use them are imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = (
    "torch", "ray", "libvirt", "prophet", "mlflow", "stable_baselines3", "numba", "matplotlib",
    "statsforecast", "statsmodels", "hydra", "pandas", "pyarrow",
)  # fmt: skip
OPTIONAL = ("ray", "libvirt", "prophet")


def _loaded(imports: str, modules: tuple[str, ...]) -> str:
    listed = f"sorted(m for m in {modules!r} if m in sys.modules)"
    code = f"import sys\nimport {imports}\nprint({listed})"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    return done.stdout.strip()


def test_importing_the_packages_loads_no_heavy_dependency() -> None:
    assert _loaded("shadowsim, shadowsim_envs, shadowsim_policies", HEAVY) == "[]"


@pytest.mark.parametrize(
    "module",
    [
        "shadowsim_policies.sb3.tuning",
        "shadowsim.live.backend",
        "shadowsim.shadow.forecasters.prophet",
    ],
)
def test_modules_using_optional_dependencies_load_them_only_when_used(module: str) -> None:
    assert _loaded(module, OPTIONAL) == "[]"
