"""conf/env/default.yaml composes with Hydra into the EnvConfig schema, and builds back."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError

from shadowsim.config_store import build_config, register_configs
from shadowsim.engine.action_codec import ActionMode
from shadowsim_envs.env_config import EnvConfig

CONF = Path(__file__).resolve().parents[2] / "conf"


def _compose(*overrides: str):
    register_configs()
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        return compose(config_name=None, overrides=["+env=default", *overrides])


def test_default_yaml_equals_the_dataclass_defaults():
    cfg = _compose()
    assert build_config(EnvConfig, cfg.env, "env") == EnvConfig()


def test_overrides_reach_the_nested_engine_config():
    cfg = _compose("env.engine.action.mode=CONTINUOUS", "env.episode_ticks=96")
    built = build_config(EnvConfig, cfg.env, "env")
    assert built.engine.action.mode is ActionMode.CONTINUOUS
    assert built.episode_ticks == 96


def test_a_misspelt_key_is_refused():
    with pytest.raises((ConfigCompositionException, ConfigKeyError)):
        _compose("env.engine.reward.w_slaa=1.0")
