"""Response policy as data: severities, workflows, comms matrix, rules, compliance.

Pure: reads its TOML files and answers questions about them. No database, no UI.
The exports load lazily (PEP 562) so that `playbooks.durations` or `playbooks.errors`
don't pay for pydantic: the command center paints before the policy is read.
"""
from importlib import import_module

_EXPORTS = {
    "Policy": "playbooks.policy",
    "PlaybookError": "playbooks.errors",
    "PolicyValueError": "playbooks.errors",
    "load_policy": "playbooks.loader",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'playbooks' has no attribute {name!r}")
