"""reconciler: a Terraform-style declarative reconciler for TOS Vectors."""

__version__ = "0.1.0"
