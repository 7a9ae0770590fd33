"""Evidence for issue 13: one-line runs on three file shapes, inferred vs hand-written schema AUC, bad files.

  python scripts/bench_schema_inference.py [--clients 5] [--rounds 5]

For Telco (target Churn), a bank-like file (Exited 1/0, comma) and a telecom-usage-like file
(Churn True/False, ';' separated, decimal commas, UTF-8 BOM, CRLF; both from
churn.sample_tables, seeded) it runs the real one-line command

  fedchurn simulate engine=inprocess data=csv data.path=FILE data.target=COLUMN

prints the schema the run printed, then runs again with a hand-written schema
(`data.schema=hand.yaml`) and tabulates both AUCs. Then it feeds five kinds of bad file to
the same command and prints what the user sees (stderr, exit code).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TELCO = REPO.parent / "shared" / "data" / "telco_customer_churn.csv"

from churn.sample_tables import HAND_SCHEMAS, bank_like, telecom_usage_like, write_csv  # noqa: E402
from churn.schema import TELCO_SCHEMA  # noqa: E402
from kafka_bridge.report import table  # noqa: E402


def simulate(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "fedchurn", "simulate", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)
    return proc, time.perf_counter() - started


def schema_lines(stdout: str) -> str:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("schema inferred"))
    end = next(i for i, line in enumerate(lines) if line.startswith("schema -> "))
    return "\n".join(lines[start:end])


def datasets(tmp: Path) -> list[tuple[str, Path, str, object]]:
    bank = write_csv(bank_like(6000, seed=0), tmp / "bank_like.csv")
    telecom = write_csv(telecom_usage_like(5000, seed=0), tmp / "telecom_usage_like.csv",
                        sep=";", decimal=",", bom=True, crlf=True)
    return [("telco", TELCO, "Churn", TELCO_SCHEMA), ("bank-like", bank, "Exited", HAND_SCHEMAS["bank"]),
            ("telecom-usage-like", telecom, "Churn", HAND_SCHEMAS["telecom"])]


def bad_files(tmp: Path) -> list[tuple[str, Path, str]]:
    good = bank_like(300, seed=1)
    (tmp / "empty.csv").write_text("")
    renamed = write_csv(good.rename(columns={"Exited": "Exited?"}), tmp / "renamed_header.csv")
    one_class = write_csv(good.assign(Exited="0"), tmp / "one_class.csv")
    three = write_csv(good.assign(Exited=[("0", "1", "2")[i % 3] for i in range(300)]),
                      tmp / "three_labels.csv")
    ragged = tmp / "ragged.csv"
    ragged.write_text("CustomerId;Age;Exited\n1;40\n2,41,0,x\n3;39;1\n")
    return [("empty file", tmp / "empty.csv", "Exited"), ("renamed header", renamed, "Exited"),
            ("one class", one_class, "Exited"), ("three target labels", three, "Exited"),
            ("unclear separator", ragged, "Exited")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    common = ["engine=inprocess", f"num_clients={args.clients}", f"num_rounds={args.rounds}",
              "client.local_eval_fraction=0"]  # README numbers: sites train on all their rows
    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name, path, target, hand in datasets(tmp):
            line = ["data=csv", f"data.path={path}", f"data.target={target}"]
            print(f"\n$ fedchurn simulate {' '.join(common + line)}")
            inferred, inferred_s = simulate([*common, *line, f"hydra.run.dir={tmp / name}"], tmp)
            if inferred.returncode != 0:
                sys.exit(f"{name}: the one-line run failed:\n{inferred.stderr[-3000:]}")
            print(schema_lines(inferred.stdout))
            hand_file = tmp / f"{name}_hand.yaml"
            hand_file.write_text(yaml.safe_dump({"schema": hand.to_dict()}))
            manual, manual_s = simulate([*common, *line, f"data.schema={hand_file}",
                                         f"hydra.run.dir={tmp / (name + '_hand')}"], tmp)
            if manual.returncode != 0:
                sys.exit(f"{name}: the hand-schema run failed:\n{manual.stderr[-3000:]}")
            a = json.loads((tmp / name / "results.json").read_text())
            b = json.loads((tmp / f"{name}_hand" / "results.json").read_text())
            rows.append([name, a["data"]["train_rows"] + a["data"]["test_rows"],
                         f"{a['num_features']} / {b['num_features']}",
                         f"{a['final']['federated_auc']:.4f}", f"{b['final']['federated_auc']:.4f}",
                         f"{a['final']['centralized_auc']:.4f}", f"{b['final']['centralized_auc']:.4f}",
                         f"{a['final']['federated_auc'] - b['final']['federated_auc']:+.4f}",
                         f"{inferred_s:.0f} / {manual_s:.0f}"])
        print(f"\nfederated = {args.clients} sites IID, {args.rounds} rounds FedAvg, in-process "
              "engine; test AUC on the shared 20% test set (seed 42)")
        print(table(["file", "rows", "features inf/hand", "fed AUC inferred", "fed AUC hand",
                     "central AUC inferred", "central AUC hand", "fed diff", "wall s inf/hand"],
                    rows))
        print("\nbad files, same one-line command (what the user sees on stderr):")
        for kind, path, target in bad_files(tmp):
            proc, _ = simulate([*common, "data=csv", f"data.path={path}", f"data.target={target}",
                                f"hydra.run.dir={tmp / 'bad'}"], tmp)
            shown = proc.stderr.strip().replace(str(tmp) + "/", "")
            print(f"\n[{kind}] exit code {proc.returncode}, traceback: {'Traceback' in proc.stderr}")
            print(shown)
    print(f"\n{os.cpu_count()} cores, load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after (1 min)")


if __name__ == "__main__":
    main()
