"""Server side of fedchurn: the Flower ServerApp and the sample-weighted FedAvg strategy."""
