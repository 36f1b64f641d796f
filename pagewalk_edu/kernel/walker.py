"""The walker under the names the rest of the package has used: the caller's
protections (walkers/caller.py) around folio_walk_start() (walkers/folio_walk.py)."""

from .roles import HOLDS
from .walkers.caller import initial_walker, walker_step
from .walkers.folio_walk import SRC_PTE_MAP, SRC_WALK, WALK_LABELS, walker_cursor

__all__ = ["HOLDS", "SRC_PTE_MAP", "SRC_WALK", "WALK_LABELS", "initial_walker", "walker_cursor", "walker_step"]
