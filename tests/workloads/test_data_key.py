"""Workload.data_key: one name per demand data set, the same for the same data."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from shadowsim.workloads.bitbrains import BITBRAINS_HEADER, BitbrainsConfig, BitbrainsReader
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim.workloads.workload import Workload

SAFE = re.compile(r"^[a-z0-9-]+-[0-9a-f]{10}$")


def _synthetic(**kw: object) -> Workload:
    config = SyntheticConfig(n_apps=3, n_ticks=288, **kw)  # type: ignore[arg-type]
    return SyntheticGenerator(config).load()


def test_the_same_data_gives_the_same_key() -> None:
    first, again = _synthetic(seed=4), _synthetic(seed=4)
    assert first.data_key() == again.data_key()
    assert SAFE.match(first.data_key()), first.data_key()
    assert first.data_key().startswith("synthetic-")
    # metadata is not data a forecaster learns from: the key stays
    other_priority = replace(first, priority=np.full(3, 2, dtype=np.int8))
    assert other_priority.data_key() == first.data_key()


def test_other_data_gives_another_key() -> None:
    base = _synthetic(seed=4)
    keys = {
        base.data_key(),
        _synthetic(seed=5).data_key(),  # another seed
        base.window(0, 144).data_key(),  # a shorter part
        base.window(1, 288).data_key(),  # another start
        replace(base, app_ids=("x", "y", "z")).data_key(),
        replace(base, interval_s=60.0).data_key(),
    }
    assert len(keys) == 6
    demand = np.array(base.demand)
    demand[2, 100, 3] = np.nextafter(demand[2, 100, 3], np.inf)  # one value, one ulp
    assert replace(base, demand=demand).data_key() != base.data_key()
    active = np.ones((3, 288), dtype=np.bool_)
    active[0, 5] = False
    assert replace(base, active=active).data_key() != base.data_key()


def test_a_trace_is_named_after_its_kind(tmp_path: Path) -> None:
    rows = [
        ";\t".join(str(f) for f in (1375308176 + 300 * i, 2, 5851.9, 1000.0, 17.1,
                                    8388608.0, 1048576.0, 1.0, 2.0, 10.0, 20.0))
        for i in range(12)
    ]
    (tmp_path / "1.csv").write_text("\n".join([";\t".join(BITBRAINS_HEADER), *rows]) + "\n")
    workload = BitbrainsReader(BitbrainsConfig(path=str(tmp_path))).load()
    assert workload.source.startswith("bitbrains:")
    assert SAFE.match(workload.data_key()), workload.data_key()
    assert workload.data_key().startswith("bitbrains-")
