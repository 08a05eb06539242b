"""The documented set-up of a Dagster instance, as the tests perform it: a ``DAGSTER_HOME``
holding a copy of one of the repository's instance files, then ``dagster instance migrate``
before any run starts (README, "Deployment")."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

CHECKOUT = Path(__file__).parents[2]
DEVELOPMENT_INSTANCE = CHECKOUT / "dagster.yaml"
PRODUCTION_INSTANCE = CHECKOUT / "deploy" / "dagster.yaml"


def dagster_cli(name: str = "dagster") -> str:
    """A console script of this environment (``dagster``, ``dagster-daemon``)."""
    return str(Path(sys.executable).with_name(name))


def set_up_instance(home: Path, instance_file: Path, env: Mapping[str, str]) -> Path:
    """Make ``home`` a ``DAGSTER_HOME`` holding ``instance_file`` and create or migrate its
    storage with ``dagster instance migrate`` (run in ``env``, outside the checkout); returns
    ``home``. Fails with the command's output if the migration fails."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(instance_file, home / "dagster.yaml")
    completed = subprocess.run(
        [dagster_cli(), "instance", "migrate"],
        env={**env, "DAGSTER_HOME": str(home)},
        cwd=home,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(
            f"dagster instance migrate failed ({completed.returncode}): "
            f"{completed.stdout[-2000:]}\n{completed.stderr[-3000:]}"
        )
    return home
