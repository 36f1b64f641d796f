"""Kernel names per release: v7.0 folded mm/pt_reclaim.c into mm/memory.c
(reclaim_pt_is_enabled() → pte_table_reclaim_possible(), try_get_and_clear_pmd()
→ zap_empty_pte_table(), try_to_free_pte() → zap_pte_table_if_empty(), free_pte()
open-coded as pte_free_tlb() in zap_pte_range()); v7.0's anon collapse maps the THP
with map_anon_folio_pmd_nopf() instead of set_pmd_at(); by v7.1-7.2
zap_page_range_single_batched() is zap_vma_range_batched().

The steps are written once with the v6.18 names; an event or a wait on a 7.x
profile is shown with that release's names (same behaviour, other labels).
Only the words people read are renamed: no step decides anything on them.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: v6.18 name → v7.x name.
RENAMES_7X = {
    "reclaim_pt_is_enabled": "pte_table_reclaim_possible",
    "try_get_and_clear_pmd": "zap_empty_pte_table",
    "try_to_free_pte": "zap_pte_table_if_empty",
    "free_pte": "pte_free_tlb",
    "zap_page_range_single_batched": "zap_vma_range_batched",
    "set_pmd_at": "map_anon_folio_pmd_nopf",
}
#: Files that are gone in 7.x.
FILES_7X = {"mm/pt_reclaim.c": "mm/memory.c"}
#: Whole phrases first: free_pte() is no function of its own in 7.x.
PHRASES_7X = {
    "mm/pt_reclaim.c: free_pte": "mm/memory.c: zap_pte_range",
    "free_pte(): pte_free_tlb()": "zap_pte_range(): pte_free_tlb()",
}

_WORD = re.compile(r"\b(" + "|".join(map(re.escape, sorted(RENAMES_7X, key=len, reverse=True))) + r")\b")
_FILE = re.compile("|".join(map(re.escape, FILES_7X)))


def uses_7x_names(kernel: str) -> bool:
    return int(kernel.split(".")[0]) >= 7


@lru_cache(maxsize=8192)  # the explorer meets the same sentences in many states
def rename(kernel: str, text: str) -> str:
    """`text` with the function and file names of `kernel`'s release."""
    if not text or not uses_7x_names(kernel):
        return text
    for old, new in PHRASES_7X.items():
        text = text.replace(old, new)
    text = _WORD.sub(lambda m: RENAMES_7X[m.group(1)], text)
    return _FILE.sub(lambda m: FILES_7X[m.group(0)], text)
