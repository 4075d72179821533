"""shadowsim: predictive resource allocation of virtual machines.

Importing this package stays light: it loads numpy-level types only. Heavy parts (torch,
MLflow, SimPy, libvirt) load when their subpackages are imported.
"""

from shadowsim.errors import ShadowSimError
from shadowsim.resources import N_RESOURCES, RESOURCES, Resource

__all__ = ["N_RESOURCES", "RESOURCES", "Resource", "ShadowSimError", "__version__"]

__version__ = "0.1.0"
