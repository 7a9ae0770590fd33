"""fedchurn: federated customer-churn prediction with Flower and scikit-learn."""

__version__ = "0.1.0"
