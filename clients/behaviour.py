"""Simulated site behaviour for tests and benchmarks: seeded dropouts and hostile updates.

Both run inside the real ClientApp train handler (config `client.dropout_rate`,
`client.attack`, `client.attack_scale`, `client.attack_partitions`):

- dropout: with probability `dropout-rate`, decided per (seed, partition, round) so every
  engine drops the same sites, the site raises `SimulatedDropout` instead of answering. The
  in-process engine then delivers no reply at all (what a crashed or disconnected site looks
  like to the server); Flower's simulation turns the exception into an error reply at once
  (bounded: no waiting for `timeout`), which the strategy recognises by the exception's name
  and also records as missing. A deployed SuperNode never uses this.
- attack on the weight update delta = local - global of the listed partitions:
  `scale` sends global + attack-scale * delta (e.g. -10 or 100), `sign_flip` sends
  global - delta. Newton payloads are not attacked.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from churn import protocol as P

ATTACKS = ("none", "scale", "sign_flip")


class SimulatedDropout(RuntimeError):
    """Raised by a site that drops out of a round; engines that can, deliver no reply."""

    drops_reply = True  # read by fedchurn.engines.inprocess


@dataclass(frozen=True)
class ClientBehaviour:
    """Dropout rate and attack of the simulated sites (all honest and present by default)."""

    seed: int = 0
    dropout_rate: float = 0.0
    attack: str = "none"
    attack_scale: float = -10.0
    attack_partitions: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.dropout_rate < 1.0:
            raise ValueError(f"client.dropout_rate must be in [0, 1), got {self.dropout_rate}")
        if self.attack not in ATTACKS:
            raise ValueError(f"client.attack={self.attack!r}; use one of {ATTACKS}")

    @classmethod
    def from_run_config(cls, run_config: Mapping[str, Any]) -> ClientBehaviour:
        """Read the kebab-case keys of `churn.protocol` (absent keys: honest, present)."""
        partitions = str(run_config.get(P.ATTACK_PARTITIONS, "")).strip()
        return cls(seed=int(run_config.get(P.SEED, 0)),
                   dropout_rate=float(run_config.get(P.DROPOUT_RATE, 0.0)),
                   attack=str(run_config.get(P.ATTACK, "none")),
                   attack_scale=float(run_config.get(P.ATTACK_SCALE, -10.0)),
                   attack_partitions=tuple(int(p) for p in partitions.split(",") if p.strip()))

    @classmethod
    def from_client_config(cls, client: Mapping[str, Any], seed: int) -> ClientBehaviour:
        """From the Hydra `client` node (snake_case keys)."""
        return cls(seed=seed, dropout_rate=float(client.get("dropout_rate", 0.0)),
                   attack=str(client.get("attack", "none")),
                   attack_scale=float(client.get("attack_scale", -10.0)),
                   attack_partitions=tuple(int(p) for p in client.get("attack_partitions") or ()))

    def to_run_config(self) -> dict[str, str | int | float]:
        """Flat run-config entries for the ClientApp (the seed travels as `seed` already)."""
        return {P.DROPOUT_RATE: self.dropout_rate, P.ATTACK: self.attack,
                P.ATTACK_SCALE: self.attack_scale,
                P.ATTACK_PARTITIONS: ",".join(str(p) for p in self.attack_partitions)}

    def drops_out(self, partition_id: int, server_round: int) -> bool:
        """Whether this site misses this round (seeded, the same on every engine)."""
        if self.dropout_rate <= 0.0:
            return False
        draw = random.Random(f"{self.seed}:dropout:{partition_id}:{server_round}").random()
        return draw < self.dropout_rate

    def check_dropout(self, partition_id: int, server_round: int) -> None:
        """Raise `SimulatedDropout` if the site misses this round."""
        if self.drops_out(partition_id, server_round):
            raise SimulatedDropout(f"simulated dropout of partition {partition_id} in round "
                                   f"{server_round} (client.dropout_rate={self.dropout_rate})")

    def poison(self, partition_id: int, global_arrays: list[np.ndarray],
               arrays: list[np.ndarray]) -> list[np.ndarray]:
        """The update this site sends: honest `arrays`, or the attacked version of them."""
        if self.attack == "none" or partition_id not in self.attack_partitions:
            return arrays
        factor = self.attack_scale if self.attack == "scale" else -1.0
        return [np.asarray(g, dtype=np.float64) + factor * (np.asarray(a, dtype=np.float64)
                                                           - np.asarray(g, dtype=np.float64))
                for g, a in zip(global_arrays, arrays, strict=True)]
