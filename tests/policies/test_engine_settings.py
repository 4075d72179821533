"""A trained agent carries its env's action and observation settings; evaluation adopts them."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from shadowsim.engine.action_codec import ActionConfig, ActionMode, ControlSource
from shadowsim.engine.engine_config import EngineConfig
from shadowsim.engine.observation_config import ObservationConfig
from shadowsim.errors import ConfigError
from shadowsim.sim.config import ClusterConfig
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim.workloads.workload import Workload
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_policies import PolicyError
from shadowsim_policies.engine_settings import adopt_settings, engine_settings
from shadowsim_policies.evaluation import evaluate
from shadowsim_policies.sb3 import load_agent
from shadowsim_policies.sb3.common import TrainConfig, train_agent

TRAINED = EngineConfig(
    action=ActionConfig(
        mode=ActionMode.CONTINUOUS, max_target=4.0, pool_control=ControlSource.POLICY
    ),
    observation=ObservationConfig(window=6, forecast_leads=(1, 2, 3)),
)


def test_saved_settings_round_trip_and_name_each_change() -> None:
    saved = json.loads(json.dumps(engine_settings(TRAINED)))  # as the agent's metadata holds it
    assert saved["action"]["mode"] == "CONTINUOUS"
    adopted, notes = adopt_settings(EngineConfig(), saved)
    assert adopted == TRAINED
    assert notes == [
        "env.engine.action.mode DISCRETE -> CONTINUOUS",
        "env.engine.action.max_target 1024.0 -> 4.0",
        "env.engine.action.pool_control AUTO -> POLICY",
        "env.engine.observation.window 12 -> 6",
        "env.engine.observation.forecast_leads 1,2,3,6,12 -> 1,2,3",
    ]
    assert adopt_settings(TRAINED, saved) == (TRAINED, [])
    assert adopt_settings(TRAINED, None) == (TRAINED, [])
    rewarded = replace(EngineConfig(), reward=replace(EngineConfig().reward, w_sla=1.0))
    assert adopt_settings(rewarded, saved)[0].reward.w_sla == 1.0  # only the two sections


@pytest.mark.parametrize(
    ("saved", "message"),
    [
        ({"action": [1, 2]}, r"config key 'deploy\.engine\.action': .* must be a mapping"),
        (
            {"action": {"mode": "SIDEWAYS"}},
            r"config key 'deploy\.engine\.action': the policy's saved settings do not fit.*mode",
        ),
        (
            {"observation": {"windw": 6}},
            r"config key 'deploy\.engine\.observation': the policy's saved settings do not fit.*"
            r"windw",
        ),
    ],
)
def test_saved_settings_that_do_not_fit_are_named(saved: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        adopt_settings(EngineConfig(), saved, where="deploy.engine")


def _workload(seed: int = 0) -> Workload:
    return SyntheticGenerator(SyntheticConfig(seed=1, n_apps=2, n_ticks=4 * 288)).load()


def _train(out: Path) -> Path:
    torch.set_num_threads(1)

    def make_env(index: int) -> ClusterEnv:
        config = EnvConfig(engine=TRAINED, episode_ticks=8, warmup_ticks=24, test_window_s=86400.0)
        return ClusterEnv(_workload(), config=config)

    config = TrainConfig(
        algorithm="ppo", total_timesteps=8, eval_every=0, checkpoint_every=0,
        progress_bar=False, hyperparameters={"n_steps": 8, "batch_size": 8, "net_arch": [8]},
    )
    return train_agent(make_env, config, out).agent_dir


def test_an_agent_is_evaluated_with_the_settings_it_was_trained_with(tmp_path: Path) -> None:
    agent_dir = _train(tmp_path / "agent")
    meta = json.loads((agent_dir / "agent.json").read_text())
    assert meta["training"]["env_engine"] == engine_settings(TRAINED)
    base = EnvConfig(warmup_ticks=24, test_window_s=86400.0)  # default action and observation
    results = evaluate(
        lambda: load_agent(agent_dir), _workload, ClusterConfig(), base, [0], regret=False
    )
    assert results[0].n_steps == 288
    # an agent saved before the settings were recorded keeps the old contract: same spaces
    del meta["training"]["env_engine"]
    (agent_dir / "agent.json").write_text(json.dumps(meta))
    assert load_agent(agent_dir).engine_settings is None
    with pytest.raises(PolicyError, match="trained on the observation space"):
        evaluate(lambda: load_agent(agent_dir), _workload, ClusterConfig(), base, [0], regret=False)

