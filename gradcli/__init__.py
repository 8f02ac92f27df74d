"""gradcli: see the gradient of any formula, node by node."""

__version__ = "0.1.0"
