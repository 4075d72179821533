"""The SimPy cluster simulator (documentation page written below)."""

from shadowsim.sim.config import ClusterConfig
from shadowsim.sim.simulator import Simulator

__all__ = ["ClusterConfig", "Simulator"]
