"""fedchurn: the commands of federated customer-churn prediction with Flower and scikit-learn."""

from pathlib import Path

__version__ = "0.1.0"

# The Hydra config tree, by absolute path: `config_path="../conf"` only resolves when a command
# runs as `python -m`, not from the `fedchurn` console script (Hydra then looks for a module).
CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
