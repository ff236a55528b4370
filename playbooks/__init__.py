"""Response policy as data: severities, workflows, comms matrix, rules, compliance.

Pure: reads its TOML files and answers questions about them. No database, no UI.
"""
from playbooks.errors import PlaybookError, PolicyValueError
from playbooks.loader import load_policy
from playbooks.policy import Policy

__all__ = ["Policy", "PlaybookError", "PolicyValueError", "load_policy"]
