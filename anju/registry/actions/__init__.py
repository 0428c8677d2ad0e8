"""Every write to the registry (DESIGN rule 1), one module per concern."""

from anju.registry.actions.records import *  # noqa: F403
from anju.registry.actions.records import __all__  # noqa: F401
