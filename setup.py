"""Package discovery: envs/ and policies/ install as shadowsim_envs and shadowsim_policies.

Everything else about the distribution is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

RENAMED = {"shadowsim_envs": "envs", "shadowsim_policies": "policies"}

packages = find_packages(include=["shadowsim", "shadowsim.*"])
for name, folder in RENAMED.items():
    packages += [name] + [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=RENAMED)
