"""gradcli: see the gradient of any formula, node by node."""
