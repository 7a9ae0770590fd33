"""FedProx on the server: FedAvg that sends `proximal-mu`; the sites add the proximal term.

As Flower's own FedProx, the server only sends mu; `clients.proximal` implements
mu/2 ||theta - theta_global||^2 in the local solver. Aggregation is the exact sample-weighted
average, so the Kafka auditor checks FedProx rounds like FedAvg ones.
"""

from __future__ import annotations

from flwr.app import ArrayRecord, ConfigRecord, RecordDict

from churn import protocol as P
from strategy.fedavg import ChurnFedAvg


class ChurnFedProx(ChurnFedAvg):
    """ChurnFedAvg whose train config carries `proximal-mu`."""

    aggregation = "fedavg"

    def __init__(self, *, proximal_mu: float, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        if proximal_mu < 0:
            raise ValueError(f"strategy.proximal_mu must be >= 0, got {proximal_mu}")
        self.proximal_mu = float(proximal_mu)

    def train_content(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord
                      ) -> RecordDict:
        """FedAvg's content with `proximal-mu` in the config."""
        config[P.PROXIMAL_MU] = self.proximal_mu
        return super().train_content(server_round, arrays, config)
