"""Saving and loading trained agents without pickle: JSON metadata + safetensors weights.

A saved agent is a directory with

* ``agent.json``: ``format`` ("shadowsim-sb3-agent"), ``format_version``, the ``algorithm``
  (catalog name), the ``policy_class`` (a name in
  :data:`~shadowsim_policies.sb3.policy_classes.POLICY_CLASSES`), its ``hyperparameters``
  (JSON fields of the algorithm's config dataclass), the ``observation_version`` it was
  trained on, the policy's ``observation_space`` and ``action_space``, the env's
  ``env_observation_space`` and ``env_action_space`` (JSON, see
  :mod:`~shadowsim_policies.sb3.space_json`; they differ from the policy's for DQN's joint
  actions and for per-application agents, ``per_app``: true), the
  ``weights`` file name with its SHA-256, library ``versions`` and free-form ``training``
  facts (timesteps, seed, ...);
* ``policy.safetensors``: the policy's ``state_dict`` (shared tensors stored once).

Loading rebuilds the policy class from the metadata and loads the tensors: no cloudpickle,
no SB3 ``.zip``. Format version 1 (before ``policy_class`` was recorded) is still read: its
agents used the algorithm's ``legacy_policy`` (SB3's own class). Tampering is caught: a
changed weights file fails its checksum, another observation version or format raises a
clear error.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Any

import gymnasium as gym
from safetensors.torch import load_model, save_model
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy

from shadowsim.engine.observation import OBSERVATION_VERSION, check_observation_version
from shadowsim.errors import ArtifactError, ConfigError
from shadowsim_policies.sb3.agent import SB3Agent
from shadowsim_policies.sb3.algorithm import ALGORITHMS, Algorithm, Hyperparameters
from shadowsim_policies.sb3.app_split import AppSplit
from shadowsim_policies.sb3.policy_classes import POLICY_CLASSES, policy_class_name
from shadowsim_policies.sb3.space_json import space_from_json, space_to_json

FORMAT = "shadowsim-sb3-agent"
FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (1, 2)
METADATA_FILE = "agent.json"
WEIGHTS_FILE = "policy.safetensors"


def hyperparameters_to_json(hyper: Hyperparameters) -> dict[str, Any]:
    """The config dataclass's fields as JSON values (enums by value, tuples as lists)."""
    out: dict[str, Any] = {}
    for key, value in asdict(hyper).items():  # type: ignore[call-overload]
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


def save_agent(
    model: BaseAlgorithm,
    algorithm: Algorithm,
    hyper: Hyperparameters,
    directory: str | Path,
    *,
    env_action_space: gym.spaces.Space[Any] | None = None,
    training: dict[str, Any] | None = None,
    split: AppSplit | None = None,
) -> Path:
    """Write ``model``'s policy to ``directory`` in the format of this module.

    Args:
        model: The trained SB3 model.
        algorithm: Its catalog entry.
        hyper: The hyper-parameters it was built with.
        directory: Target folder (created).
        env_action_space: The env's action space when it differs from the policy's (DQN's
            joint actions); defaults to the policy's.
        training: JSON-able facts about training (timesteps, seed, workload, ...).
        split: For a per-application agent, the split of the env it was trained on (its
            spaces are the env's).

    Returns:
        The directory.
    """
    import safetensors
    import stable_baselines3
    import torch

    import shadowsim

    policy = model.policy
    policy_name = algorithm.policy_name(policy_class_name(policy), key="policy_class")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / WEIGHTS_FILE
    save_model(policy, str(weights))
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "algorithm": algorithm.name,
        "policy_class": policy_name,
        "hyperparameters": hyperparameters_to_json(hyper),
        "observation_version": OBSERVATION_VERSION,
        "observation_space": space_to_json(policy.observation_space),
        "action_space": space_to_json(policy.action_space),
        "env_observation_space": space_to_json(
            split.observation_space if split is not None else policy.observation_space
        ),
        "env_action_space": space_to_json(
            split.action_space if split is not None else env_action_space or policy.action_space
        ),
        "per_app": split is not None,
        "weights": {"file": WEIGHTS_FILE, "sha256": _sha256(weights)},
        "versions": {
            "shadowsim": shadowsim.__version__,
            "stable_baselines3": stable_baselines3.__version__,
            "torch": torch.__version__,
            "safetensors": safetensors.__version__,
        },
        "training": training or {},
    }
    (out / METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return out


def read_metadata(directory: str | Path) -> dict[str, Any]:
    """The checked metadata of a saved agent.

    Raises:
        ArtifactError: Missing or malformed metadata, an unknown format or format version.
        ObservationVersionError: The agent was trained on another observation layout.
    """
    path = Path(directory) / METADATA_FILE
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise ArtifactError(
            f"{path}: no saved agent here (expected {METADATA_FILE} and {WEIGHTS_FILE}); train "
            "one with `python -m experiments.train`"
        ) from err
    except json.JSONDecodeError as err:
        raise ArtifactError(
            f"{path}, line {err.lineno}, column {err.colno}: not valid JSON ({err.msg})"
        ) from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ArtifactError(f"{path}: 'format' must be {FORMAT!r}, got {meta.get('format')!r}")
    if meta.get("format_version") not in READABLE_FORMAT_VERSIONS:
        raise ArtifactError(
            f"{path}: format_version {meta.get('format_version')!r}; this shadowsim reads "
            f"{', '.join(str(v) for v in READABLE_FORMAT_VERSIONS)}"
        )
    missing = [
        key
        for key in ("algorithm", "hyperparameters", "observation_version", "observation_space",
                    "action_space", "env_action_space", "weights")
        + (("policy_class",) if meta["format_version"] >= 2 else ())
        if key not in meta
    ]
    if missing:
        raise ArtifactError(f"{path}: metadata lacks {missing}")
    check_observation_version(str(meta["observation_version"]), what=f"agent {directory}")
    return meta


def load_agent(path: str | Path) -> SB3Agent:
    """Rebuild a saved agent (never unpickles).

    Args:
        path: The directory :func:`save_agent` wrote.

    Raises:
        ArtifactError: Missing files, malformed metadata, a checksum mismatch, or weights
            that do not fit the network the metadata describes.
        ObservationVersionError: Trained on another observation layout.
        UnknownNameError: Unknown algorithm.
    """
    directory = Path(path)
    meta = read_metadata(directory)
    algorithm = ALGORITHMS.get(str(meta["algorithm"]))
    try:
        hyper = algorithm.hyperparameters(meta["hyperparameters"], where="hyperparameters")
    except ConfigError as err:
        raise ArtifactError(f"{directory / METADATA_FILE}: {err}") from err
    observation_space = space_from_json(meta["observation_space"])
    action_space = space_from_json(meta["action_space"])
    env_action_space = space_from_json(meta["env_action_space"])
    split = None
    if meta.get("per_app", False):
        if algorithm.recurrent:
            raise ArtifactError(
                f"{directory / METADATA_FILE}: per_app is true but {algorithm.name} is recurrent; "
                "per-application agents cannot be recurrent"
            )
        if "env_observation_space" not in meta:
            raise ArtifactError(
                f"{directory / METADATA_FILE}: a per_app agent needs env_observation_space"
            )
        split = AppSplit(space_from_json(meta["env_observation_space"]), env_action_space)
    weights = directory / str(meta["weights"].get("file", WEIGHTS_FILE))
    if not weights.is_file():
        raise ArtifactError(f"{weights}: weights file missing")
    digest = _sha256(weights)
    if digest != meta["weights"].get("sha256"):
        raise ArtifactError(
            f"{weights}: SHA-256 {digest[:12]}... differs from the metadata's "
            f"{str(meta['weights'].get('sha256'))[:12]}...; the file was changed or corrupted"
        )
    policy_class = _policy_class(algorithm, meta, directory / METADATA_FILE)
    policy = policy_class(
        observation_space, action_space, lambda _: 0.0, **hyper.policy_kwargs()
    )
    try:
        load_model(policy, str(weights), strict=True)
    except (RuntimeError, KeyError, ValueError) as err:
        raise ArtifactError(
            f"{weights}: weights do not fit the {algorithm.name} network described in "
            f"{METADATA_FILE}: {err}"
        ) from err
    policy.set_training_mode(False)
    return SB3Agent(
        policy,
        algorithm.name,
        env_action_space,
        str(meta["observation_version"]),
        recurrent=algorithm.recurrent,
        metadata=meta,
        split=split,
    )


def _policy_class(algorithm: Algorithm, meta: dict[str, Any], path: Path) -> type[BasePolicy]:
    """The policy class the metadata names (format 1: the algorithm's legacy class).

    Raises:
        UnknownNameError: A name not in POLICY_CLASSES (with did-you-mean).
        ArtifactError: A known class that the algorithm does not train.
    """
    name = str(meta.get("policy_class", algorithm.legacy_policy))
    policy_class = POLICY_CLASSES.get(name)
    if name not in algorithm.policies:
        raise ArtifactError(
            f"{path}: policy_class {name!r} is not a policy class of {algorithm.name!r} "
            f"(expected one of {list(algorithm.policies)})"
        )
    return policy_class


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
