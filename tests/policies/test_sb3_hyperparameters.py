"""The shared checks of SB3 hyper-parameters (policies/sb3/hyperparameters.py)."""

from __future__ import annotations

import dataclasses

import pytest
from torch import nn

from shadowsim.errors import ConfigError
from shadowsim_policies.sb3 import ALGORITHMS
from shadowsim_policies.sb3.a2c import A2cConfig
from shadowsim_policies.sb3.algorithm import Activation
from shadowsim_policies.sb3.dqn import DqnConfig
from shadowsim_policies.sb3.hyperparameters import RULES, check_fields
from shadowsim_policies.sb3.ppo import PpoConfig
from shadowsim_policies.sb3.recurrent_ppo import RecurrentPpoConfig

NAMES = ("ppo", "a2c", "dqn", "recurrent_ppo")


@pytest.mark.parametrize("name", NAMES)
def test_every_field_has_a_check_and_the_defaults_pass(name: str) -> None:
    config_class = ALGORITHMS.get(name).config_class
    assert all(f.name in RULES for f in dataclasses.fields(config_class))
    ALGORITHMS.get(name).hyperparameters()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("gamma", 1.5, r"'train\.hyperparameters\.gamma': must be in \[0\.0, 1\.0\], got 1\.5"),
        ("learning_rate", 0.0, r"'train\.hyperparameters\.learning_rate': must be in \(0\.0"),
        ("learning_rate", "fast", r"learning_rate': must be a number, got 'fast'"),
        ("net_arch", "64", r"'train\.hyperparameters\.net_arch': must be a list of layer sizes"),
        ("net_arch", [64, 0], r"net_arch': layer sizes must be positive ints, got \[64, 0\]"),
        ("activation", "rleu", r"'train\.hyperparameters\.activation'.*Did you mean 'relu'"),
    ],
)
def test_a_bad_value_names_the_key_the_user_set(
    name: str, field: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        ALGORITHMS.get(name).hyperparameters({field: value})


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("ppo", "batch_size"),
        ("a2c", "n_steps"),
        ("dqn", "train_freq"),
        ("recurrent_ppo", "n_epochs"),
    ],
)
def test_a_count_must_be_whole(name: str, field: str) -> None:
    with pytest.raises(ConfigError, match=rf"'train\.hyperparameters\.{field}': must be a whole"):
        ALGORITHMS.get(name).hyperparameters({field: 32.5})
    with pytest.raises(ConfigError, match=rf"'train\.hyperparameters\.{field}': must be a whole"):
        ALGORITHMS.get(name).hyperparameters({field: float("inf")})


def test_the_same_name_is_checked_the_same_way_unless_an_algorithm_tightens_it() -> None:
    assert A2cConfig(n_steps=1).n_steps == 1
    for tighter in (PpoConfig, RecurrentPpoConfig):
        with pytest.raises(ConfigError, match=r"n_steps': must be in \[2"):
            tighter(n_steps=1)
    assert DqnConfig(batch_size=1).batch_size == 1
    with pytest.raises(ConfigError, match="normalize_advantage': must be true or false"):
        A2cConfig(normalize_advantage="yes")  # type: ignore[arg-type]


def test_values_are_normalised() -> None:
    config = PpoConfig(n_steps=64, net_arch=[32, 16], activation="ReLU")  # type: ignore[arg-type]
    assert config.net_arch == (32, 16)
    assert config.activation is Activation.RELU
    assert type(config.n_steps) is int


def test_a_config_field_without_a_check_is_a_programming_error() -> None:
    @dataclasses.dataclass(frozen=True)
    class Odd:
        learning_rate: float = 1e-3
        warp_factor: int = 9

        def __post_init__(self) -> None:
            check_fields(self)

    with pytest.raises(TypeError, match=r"Odd\.warp_factor has no hyper-parameter check"):
        Odd()


def test_keyword_arguments_of_the_models() -> None:
    ppo = PpoConfig(net_arch=(32,), activation=Activation.ELU)
    assert "net_arch" not in ppo.model_kwargs()
    assert ppo.model_kwargs()["n_steps"] == 256
    assert ppo.policy_kwargs() == {"net_arch": {"pi": [32], "vf": [32]}, "activation_fn": nn.ELU}
    assert A2cConfig().policy_kwargs()["net_arch"] == {"pi": [128, 128], "vf": [128, 128]}
    dqn = DqnConfig(net_arch=(8, 8))
    assert dqn.policy_kwargs() == {"net_arch": [8, 8], "activation_fn": nn.ReLU}
    assert set(dqn.model_kwargs()) == {f.name for f in dataclasses.fields(DqnConfig)} - {
        "net_arch",
        "activation",
    }
    recurrent = RecurrentPpoConfig(lstm_hidden_size=16, n_lstm_layers=2)
    assert recurrent.policy_kwargs()["lstm_hidden_size"] == 16
    assert recurrent.policy_kwargs()["n_lstm_layers"] == 2
    assert not {"lstm_hidden_size", "n_lstm_layers"} & set(recurrent.model_kwargs())
