"""The walkers the model knows, by the name a scenario file gives (walker.walk)."""

from .base import Walker
from .folio_walk import FOLIO_WALK

WALKERS: dict[str, Walker] = {w.name: w for w in (FOLIO_WALK,)}

__all__ = ["WALKERS", "Walker"]
