"""The application-set actor-critic: one network shared by every application.

SB3's ``MultiInputPolicy`` flattens the whole observation (about 100 features per
application) into one MLP whose output layer has a separate row of weights for each of the
A x 4 scaling decisions: each application's decisions are learnt from scratch, from a scalar
reward that mixes all applications. :class:`AppSetActorCriticPolicy` instead applies the
SAME small network to each application's features
(:class:`~shadowsim_policies.sb3.app_set_features.AppSetFeatures`), so every env step gives
A examples of the one decision rule, and the policy is invariant to the order of the
applications:

* encoder: ``e_i = MLP_pi(x_i)`` per application (``net_arch["pi"]`` hidden sizes);
* actor: ``h_i = act(W [e_i, mean_j e_j, g])`` (own application, the cluster's mean
  application, global features ``g``), then one shared linear head per application gives its
  4 scaling decisions (and its shift decision when the policy controls shifting); the pool
  target, when policy-controlled, comes from ``mean_i h_i``;
* critic: ``V = MLP_vf([mean_j e_j, max_j e_j, g])`` (``net_arch["vf"]`` hidden sizes).

Both action modes: on the DISCRETE mode's MultiDiscrete space the heads give logits for the
vectorised :class:`~shadowsim_policies.sb3.multi_categorical.GroupedMultiCategoricalDistribution`;
on the CONTINUOUS mode's Box they give the Gaussian means (state-independent log-std, as in
SB3). The action layout (A x 4 scale entries, then an optional pool entry, then optional A
shift entries) is read from the spaces by :func:`action_layout`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import DiagGaussianDistribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from shadowsim_policies.base import PolicyError
from shadowsim_policies.sb3.app_set_features import AppSetFeatures
from shadowsim_policies.sb3.multi_categorical import GroupedMultiCategoricalDistribution


@dataclass(frozen=True)
class ActionLayout:
    """Outputs per part of the flat action (logits per entry, or 1 Gaussian mean per entry).

    Attributes:
        n_apps: Applications A.
        scale: Outputs per (application, resource) scale entry.
        pool: Outputs of the pool entry (0: the engine sizes the pool).
        shift: Outputs per application's shift entry (0: the engine shifts).
    """

    n_apps: int
    scale: int
    pool: int
    shift: int

    @property
    def per_app(self) -> int:
        """Outputs of one application: its 4 scale entries and its shift entry."""
        return 4 * self.scale + self.shift

    @property
    def total(self) -> int:
        """All outputs: ``A * 4 * scale + pool + A * shift``."""
        return self.n_apps * self.per_app + self.pool


def action_layout(action_space: spaces.Space[Any], n_apps: int) -> ActionLayout:
    """The layout of the env's flat action space for ``n_apps`` applications.

    With one application a single trailing entry is read as the pool entry: its output then
    comes from the one application's latent either way.

    Raises:
        PolicyError: The space is not a flat MultiDiscrete or Box with that layout.
    """
    if isinstance(action_space, spaces.MultiDiscrete) and action_space.nvec.ndim == 1:
        sizes = [int(n) for n in action_space.nvec]
    elif isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
        sizes = [1] * int(action_space.shape[0])
    else:
        raise PolicyError(
            f"the application-set policy needs the env's flat MultiDiscrete (DISCRETE mode) or "
            f"Box (CONTINUOUS mode) action space; got {action_space}"
        )
    scale_dims = 4 * n_apps
    extra = len(sizes) - scale_dims
    has_pool = extra in (1, n_apps + 1) if n_apps > 1 else extra in (1, 2)
    has_shift = extra in (n_apps, n_apps + 1) if n_apps > 1 else extra == 2
    fits = extra == 0 or has_pool or has_shift
    if extra < 0 or not fits or len(set(sizes[:scale_dims])) != 1:
        raise PolicyError(
            f"action space {action_space} does not have the env's layout for {n_apps} "
            "applications: A x 4 scale entries of one size, then an optional pool entry, "
            "then optional A shift entries"
        )
    shift_sizes = set(sizes[scale_dims + int(has_pool):]) if has_shift else {0}
    if len(shift_sizes) != 1:
        raise PolicyError(f"shift entries of {action_space} differ in size: {sorted(shift_sizes)}")
    return ActionLayout(
        n_apps=n_apps,
        scale=sizes[0],
        pool=sizes[scale_dims] if has_pool else 0,
        shift=shift_sizes.pop(),
    )


def _mlp(sizes: list[int], activation: type[nn.Module]) -> nn.Sequential:
    """Linear layers between ``sizes`` (first = input), each followed by ``activation``."""
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nn.Linear(n_in, n_out), activation()]
    return nn.Sequential(*layers)


class AppSetNetwork(nn.Module):
    """The shared per-application encoder, the actor latents and the critic latent.

    Plays the role of SB3's ``MlpExtractor``: ``forward_actor`` gives ``(batch, A * H)`` (the
    per-application latents, flattened), ``forward_critic`` gives ``(batch, Hv)``.

    Args:
        features: The features extractor (for the per-application layout).
        pi: Hidden sizes of the per-application encoder (>= 1 layer); H = the last one.
        vf: Hidden sizes of the critic (>= 1 layer).
        activation: Activation module class.
    """

    def __init__(
        self, features: AppSetFeatures, pi: list[int], vf: list[int], activation: type[nn.Module]
    ) -> None:
        super().__init__()
        self.n_apps = features.n_apps
        self.app_dim = features.app_dim
        width = pi[-1]
        self.encoder = _mlp([features.app_dim, *pi], activation)
        self.actor = _mlp([2 * width + features.global_dim, width], activation)
        self.critic = _mlp([2 * width + features.global_dim, *vf], activation)
        self.latent_width = width
        self.latent_dim_pi = features.n_apps * width
        self.latent_dim_vf = vf[-1]

    def _encode(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        split = self.n_apps * self.app_dim
        apps = features[:, :split].reshape(-1, self.n_apps, self.app_dim)
        return self.encoder(apps), features[:, split:]

    def _actor(self, encoded: torch.Tensor, glob: torch.Tensor) -> torch.Tensor:
        n = encoded.shape[1]
        context = torch.cat([encoded.mean(dim=1), glob], dim=-1)
        rows = torch.cat([encoded, context[:, None, :].expand(-1, n, -1)], dim=-1)
        latent: torch.Tensor = self.actor(rows)
        return latent.reshape(encoded.shape[0], -1)

    def _critic(self, encoded: torch.Tensor, glob: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([encoded.mean(dim=1), encoded.amax(dim=1), glob], dim=-1)
        latent: torch.Tensor = self.critic(pooled)
        return latent

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Actor and critic latents (one encoder pass)."""
        encoded, glob = self._encode(features)
        return self._actor(encoded, glob), self._critic(encoded, glob)

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        """The per-application actor latents, ``(batch, A * H)``."""
        return self._actor(*self._encode(features))

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        """The critic latent, ``(batch, Hv)``."""
        return self._critic(*self._encode(features))


class AppSetHead(nn.Module):
    """Per-application latents to the flat action outputs (logits or Gaussian means).

    Args:
        width: Per-application latent size H.
        layout: The action layout.
    """

    def __init__(self, width: int, layout: ActionLayout) -> None:
        super().__init__()
        self.layout = layout
        self.width = width
        self.app = nn.Linear(width, layout.per_app)
        self.pool = nn.Linear(width, layout.pool) if layout.pool else None

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """``(batch, A * H)`` to ``(batch, layout.total)`` in the env's action order."""
        lay = self.layout
        batch = latent.shape[0]
        rows = latent.reshape(batch, lay.n_apps, self.width)
        out = self.app(rows)
        parts = [out[..., : 4 * lay.scale].reshape(batch, -1)]
        if self.pool is not None:
            parts.append(self.pool(rows.mean(dim=1)))
        if lay.shift:
            parts.append(out[..., 4 * lay.scale:].reshape(batch, -1))
        return torch.cat(parts, dim=-1)


class AppSetActorCriticPolicy(ActorCriticPolicy):
    """Actor-critic whose networks are shared by all applications (see the module docstring).

    Same arguments as SB3's ``MultiInputActorCriticPolicy`` (``net_arch``, ``activation_fn``,
    ``ortho_init``, ``log_std_init``...); the features extractor is always
    :class:`~shadowsim_policies.sb3.app_set_features.AppSetFeatures`. ``net_arch`` is a list
    (same sizes for encoder and critic) or ``{"pi": [...], "vf": [...]}``.

    Raises:
        PolicyError: Spaces that are not the cluster env's (keys, action layout), or
            gSDE (not supported).
    """

    def __init__(
        self,
        observation_space: spaces.Space[Any],
        action_space: spaces.Space[Any],
        lr_schedule: Schedule,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("use_sde"):
            raise PolicyError("the application-set policy does not support gSDE (use_sde)")
        kwargs["features_extractor_class"] = AppSetFeatures
        kwargs.pop("features_extractor_kwargs", None)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _arch(self) -> tuple[list[int], list[int]]:
        arch: Any = self.net_arch
        if isinstance(arch, dict):
            pi, vf = list(arch.get("pi", [])), list(arch.get("vf", []))
        else:
            pi, vf = list(arch or []), list(arch or [])
        if not pi or not vf:
            raise PolicyError(
                f"the application-set policy needs at least one encoder and one critic layer; "
                f"got net_arch {arch!r}"
            )
        return pi, vf

    def _build_mlp_extractor(self) -> None:
        features = self.features_extractor
        if not isinstance(features, AppSetFeatures):
            raise PolicyError("the application-set policy needs its AppSetFeatures extractor")
        pi, vf = self._arch()
        self.mlp_extractor = AppSetNetwork(features, pi, vf, self.activation_fn)  # type: ignore[assignment]

    def _build(self, lr_schedule: Schedule) -> None:
        features = self.features_extractor
        if not isinstance(features, AppSetFeatures):
            raise PolicyError("the application-set policy needs its AppSetFeatures extractor")
        layout = action_layout(self.action_space, features.n_apps)
        space = self.action_space
        if isinstance(space, spaces.MultiDiscrete):
            self.action_dist = GroupedMultiCategoricalDistribution(space.nvec.tolist())
        elif not isinstance(self.action_dist, DiagGaussianDistribution):
            raise PolicyError(f"unsupported action distribution {type(self.action_dist).__name__}")
        self._build_mlp_extractor()
        network = self.mlp_extractor
        if not isinstance(network, AppSetNetwork):
            raise PolicyError("the application-set policy needs its AppSetNetwork")
        self.action_net = AppSetHead(network.latent_width, layout)
        if isinstance(space, spaces.Box):
            self.log_std = nn.Parameter(
                torch.full((layout.total,), float(self.log_std_init)), requires_grad=True
            )
        self.value_net = nn.Linear(network.latent_dim_vf, 1)
        if self.ortho_init:
            gains = {network: np.sqrt(2), self.action_net: 0.01, self.value_net: 1.0}
            for module, gain in gains.items():
                module.apply(partial(self.init_weights, gain=gain))
        self.optimizer = self.optimizer_class(  # type: ignore[call-arg]
            self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )
