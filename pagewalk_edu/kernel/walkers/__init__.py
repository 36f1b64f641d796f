"""The walkers the model knows, by the name a scenario file gives (walker.walk)."""

from .base import Walker
from .folio_walk import FOLIO_WALK
from .gup_fast import GUP_FAST

WALKERS: dict[str, Walker] = {w.name: w for w in (FOLIO_WALK, GUP_FAST)}

__all__ = ["WALKERS", "Walker"]
