"""API of the registry."""

from ninja import Router

router = Router(tags=["registry"])
