"""The read path needs no orchestrator: in a Python where ``import dagster`` fails, a reader
opens a dataset the pipeline wrote and lists the catalog."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vidx_offline.s3_server import LocalS3
from vidx_pipeline.datasets import DATASETS
from vidx_pipeline_tests.catalog.conftest import INITS, Published

CHECKOUT = Path(__file__).parents[2]

NO_DAGSTER = '''
import sys


class _NoDagster:
    """Refuses every dagster module, as in an environment without it."""

    def find_spec(self, name, path=None, target=None):
        if name == "dagster" or name.startswith(("dagster.", "dagster_")):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None


sys.meta_path.insert(0, _NoDagster())
'''

READER = """
import json, sys
try:
    import dagster
except ModuleNotFoundError:
    pass
else:
    sys.exit("dagster imported: the shim is not in effect")

import numpy as np
from vidx_pipeline.catalog import open_dataset

ds = open_dataset("noaa-gfs-forecast")
values = ds.temperature_2m.sel(
    init_time=np.datetime64(sys.argv[1]), lead_time=np.timedelta64(3, "h")
).values
print(json.dumps({
    "values": np.where(np.isnan(values), None, values).tolist(),
    "dagster_loaded": sorted(m for m in sys.modules if m.startswith("dagster")),
}))
"""


def _run(args: list[str], env: dict[str, str], tmp_path: Path) -> str:
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(NO_DAGSTER)
    completed = subprocess.run(
        [sys.executable, *args],
        env={**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(shim), str(CHECKOUT)])},
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert env["AWS_SECRET_ACCESS_KEY"] not in completed.stdout + completed.stderr
    return completed.stdout


@pytest.mark.slow
def test_a_reader_without_dagster_opens_a_dataset_and_lists_the_catalog(
    published_local: Published, local_s3: LocalS3, tmp_path: Path
) -> None:
    env = published_local.env(local_s3)
    init = INITS[1]
    out = json.loads(_run(["-c", READER, f"{init:%Y-%m-%dT%H:%M}"], env, tmp_path))
    assert out["dagster_loaded"] == []
    got = np.array(out["values"], dtype="float64")
    expected = published_local.message_values(init, 3, "TMP", "2 m above ground")
    np.testing.assert_allclose(got, expected, rtol=1e-6)

    listed = json.loads(_run(["-m", "vidx_pipeline.catalog", "list", "--json"], env, tmp_path))
    assert {e["dataset_id"]: e["status"] for e in listed} == {
        d: "published" if d == "noaa-gfs-forecast" else "absent" for d in DATASETS
    }


def test_the_shim_refuses_dagster(tmp_path: Path) -> None:
    """The premise: in the shimmed interpreter ``import dagster`` fails, where it otherwise
    works."""
    probe = "import dagster"
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(NO_DAGSTER)
    env = {**os.environ, "PYTHONPATH": str(shim)}
    refused = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "No module named 'dagster'" in refused.stderr
    plain = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert plain.returncode == 0, plain.stderr[-2000:]
