"""No secret in any file a run writes: a real `fedchurn simulate` with secrets as overrides."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from churn.redaction import redact, redact_overrides

REPO = Path(__file__).resolve().parents[2]
SEED, PASSWORD, ENV_PASSWORD = "918273645", "hunter2-XyZ", "env-s3cr3t-QwE"


def _simulate(overrides: list[str], multirun: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "fedchurn.simulate", *(["-m"] if multirun else []),
                           "engine=inprocess", *overrides], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)


def test_override_strings_and_configs_are_redacted_by_key() -> None:
    assert redact_overrides("num_clients=3,bridge.sasl_plain_password=p,q,seed=1") == \
        "num_clients=3,bridge.sasl_plain_password=***,seed=1"
    assert redact(["+x.api_token=abc", "~y.password", "ssl_keyfile=/k.pem"]) == \
        ["+x.api_token=***", "~y.password", "ssl_keyfile=/k.pem"]
    assert redact({"b": {"ssl_password": "s", "key_timeout": 5, "ssl_keyfile": "/k.pem",
                         "sasl_plain_password": "${oc.env:FEDCHURN_KAFKA_SASL_PASSWORD,null}"}}) == \
        {"b": {"ssl_password": "***", "key_timeout": 5, "ssl_keyfile": "/k.pem",
               "sasl_plain_password": "${oc.env:FEDCHURN_KAFKA_SASL_PASSWORD,null}"}}


def test_no_secret_value_in_any_file_of_the_run_directory(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    done = _simulate(["data.num_rows=600", "num_clients=2", "num_rounds=1", "privacy=dp",
                      "privacy.noise_multiplier=1.0", f"privacy.secret_noise_seed={SEED}",
                      f"+bridge.sasl_plain_password={PASSWORD}",
                      f"+hydra.job.env_set.FEDCHURN_KAFKA_SASL_PASSWORD={ENV_PASSWORD}",
                      f"hydra.run.dir={run_dir}"])
    assert done.returncode == 0, done.stderr[-2000:]
    files = sorted(p for p in run_dir.rglob("*") if p.is_file())
    names = {p.relative_to(run_dir).as_posix() for p in files}
    assert {"results.json", "model.json", "simulate.log", ".hydra/config.yaml", ".hydra/hydra.yaml",
            ".hydra/overrides.yaml"} <= names, names
    for path in files:
        text = path.read_text(errors="replace")
        for secret in (SEED, PASSWORD, ENV_PASSWORD):
            assert secret not in text, f"{secret!r} written to {path.relative_to(run_dir)}"
    # what the files say instead: the key stays, its value is "***"
    results = json.loads((run_dir / "results.json").read_text())
    assert "privacy.secret_noise_seed=***" in results["overrides"]
    assert results["config"]["bridge"]["sasl_plain_password"] == "***"
    assert "+bridge.sasl_plain_password=***" in yaml.safe_load(
        (run_dir / ".hydra/overrides.yaml").read_text())
    config = yaml.safe_load((run_dir / ".hydra/config.yaml").read_text())
    assert config["privacy"]["secret_noise_seed"] == "***" and config["num_clients"] == 2
    hydra = yaml.safe_load((run_dir / ".hydra/hydra.yaml").read_text())["hydra"]
    assert hydra["job"]["env_set"]["FEDCHURN_KAFKA_SASL_PASSWORD"] == "***"


def test_no_secret_value_in_any_file_of_a_sweep_directory(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    done = _simulate(["data.num_rows=600", "num_rounds=1", "num_clients=2",
                      f"+bridge.sasl_plain_password={PASSWORD}", f"hydra.sweep.dir={sweep_dir}"],
                     multirun=True)
    assert done.returncode == 0, done.stderr[-2000:]
    files = sorted(p for p in sweep_dir.rglob("*") if p.is_file())
    assert {"multirun.yaml", "summary.csv", "0_n2/results.json", "0_n2/.hydra/hydra.yaml"} <= \
        {p.relative_to(sweep_dir).as_posix() for p in files}
    for path in files:
        assert PASSWORD not in path.read_text(errors="replace"), path
    multirun = yaml.safe_load((sweep_dir / "multirun.yaml").read_text())
    assert "+bridge.sasl_plain_password=***" in multirun["hydra"]["overrides"]["task"]
