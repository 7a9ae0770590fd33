"""Two real runs into the same Hydra run dir, mirrored to one broker: two run ids, both verify;
the signing key stays in its 0600 file on the server's disk and never reaches a topic."""

from __future__ import annotations

import base64
import json
import stat

import pytest
from cryptography.hazmat.primitives import serialization

from dashboard.run_state import build_runs
from kafka_bridge.audit_cli import main as audit_main
from kafka_bridge.reader import EventReader
from kafka_bridge.signing import load_or_create_key, public_key_hex
from tests.kafka_bridge.helpers import cli, raw_messages, unique_prefix
from tests.kafka_bridge.sim_helpers import bridge_overrides

pytestmark = [pytest.mark.kafka, pytest.mark.flower]


def test_a_rerun_into_the_same_dir_gets_its_own_run_id(running_kafka, tmp_path, capsys):
    prefix, out = unique_prefix(), tmp_path / "exp1"
    args = ["engine=inprocess", "data.num_rows=600", "num_clients=2", "num_rounds=1",
            f"hydra.run.dir={out}", *bridge_overrides(running_kafka.bootstrap, prefix,
                                                      tmp_path / "spool")]
    written = []
    for _ in range(2):
        done = cli("fedchurn.simulate", *args, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        written.append(json.loads((out / "results.json").read_text()))
    ids = [r["run_id"] for r in written]
    assert ids[0] != ids[1] and all(i.startswith("exp1-") for i in ids), ids
    keys = written[-1]["audit_public_keys"]
    assert len(keys) == 1 and written[0]["audit_public_keys"] == keys  # one key per deployment
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        runs = reader.read_all()
    assert set(runs) == set(ids)
    for run_id in ids:
        assert audit_main(["verify", "--run", run_id, "--bootstrap", running_kafka.bootstrap,
                           "--topic-prefix", prefix, "--public-key", keys[0]]) == 0, \
            capsys.readouterr().out
    folded = build_runs([e for events in runs.values() for e in events])
    assert sorted(folded) == sorted(ids) and all(r.status == "finished" for r in folded.values())
    # the key both runs used: made once in the spool dir, owner-only, and in no Kafka record
    key_file = tmp_path / "spool" / "signing-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = load_or_create_key(key_file)
    assert public_key_hex(key) == keys[0]
    secret = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                               serialization.NoEncryption())
    forms = [secret, secret.hex().encode(), base64.b64encode(secret),
             base64.urlsafe_b64encode(secret).rstrip(b"="), key_file.read_bytes().split(b"\n")[1]]
    messages = raw_messages(running_kafka.bootstrap, prefix)
    assert len(messages) >= sum(len(e) for e in runs.values())
    assert not [f for f in forms for _, key, value, _ in messages if f in key or f in value]
