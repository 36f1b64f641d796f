"""What the notebook tests share: the lessons, the glossary's terms and how a
lesson mentions them, and how to tell a reveal cell."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if p.name != "glossary.ipynb")  # the lessons and the tutorial
GLOSSARY = ROOT / "notebooks" / "glossary.ipynb"

#: Each glossary heading (its link target) and the words by which a lesson uses the term.
TERMS = {
    "page-table": r"\bpage[- ]tables?\b",
    "walker": r"\bwalkers?\b",
    "folio": r"\bfolios?\b",
    "vma": r"\bVMAs?\b",
    "anon-and-file-vma": r"\b(?:anonymous|anon|file)[- ](?:VMA|memory|mapping|THP|collapse)s?\b",
    "detached": r"\bdetach(?:ed|es)?\b",
    "use-after-free": r"\buse-after-free\b",
    "stale": r"\bstale\b",
    "mmap_lock": r"\bmmap_lock\b|\bmmap lock\b",
    "per-vma-lock": r"\b(?:per-VMA|VMA) (?:read |write )?locks?\b",
    "ptl": r"\bptl\b|\bpage-table lock\b",
    "rcu": r"\bRCU\b",
    "grace-period": r"\bgrace periods?\b",
    "quiescent-state": r"\bquiescent states?\b",
    "ipi": r"\bIPIs?\b",
    "irqs-off": r"\bIRQs[- ](?:off|disabled)\b|\bdisables? IRQs\b",
    "tlb-flush": r"\bTLB[- ]flush(?:es|ed)?\b|\bflush(?:es)? the TLB\b",
    "mm_cpumask": r"\b(?:mm_)?cpumask\b",
    "local-and-remote-walker": r"\b(?:local|remote) walkers?\b",
    "mmu_gather": r"\bmmu_gather\b|\bbatch page\b",
    "mmu_gather_rcu_table_free": r"\bMMU_GATHER_RCU_TABLE_FREE\b",
    "table-free-fallback": r"\btable-free fallback\b|\bfailed batch allocation\b",
    "pt_reclaim": r"\bPT_RECLAIM\b",
    "force_flush": r"\bforce_flush\b",
    "gup-and-gup-fast": r"\bGUP(?:-fast)?\b",
    "thp": r"\bTHPs?\b|\bhuge pages?\b",
    "khugepaged": r"\bkhugepaged\b",
    "deposit": r"\bdeposit(?:ed|s)?\b",
    "i_mmap": r"\bi_mmap\b",
    "rmap-locks": r"\brmap locks?\b",
    "hugetlb": r"(?<![\w/`])hugetlb(?:fs)?\b(?![/_(])",
    "pmd-sharing": r"\bPMD[- ]sharing\b|\bshared PMD tables?\b",
    "unshare": r"(?<![\w`])unshar(?:e|es|ed|ing)\b(?![_(])",
    "foreign-table": r"\bforeign tables?\b",
    "hugetlb-vma-lock": r"\bhugetlb VMA locks?\b",
    "sync-ipi": r"\bsync IPIs?\b",
}

LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")

#: How a lesson links a glossary term: to the term's cell by its id, the one fragment JupyterLab 4
#: scrolls to in another notebook (tools/build_docs.py turns it into the heading's anchor for the site).
GLOSSARY_LINK = "glossary.ipynb#cell-id="


def glossary_anchor(target: str) -> str | None:
    """The term a link target points to in the glossary, or None for another link."""
    if target.startswith(GLOSSARY_LINK):
        return target[len(GLOSSARY_LINK):]
    if target.startswith("glossary.ipynb#"):
        return target.split("#", 1)[1]
    return None


def glossary_anchors() -> list[str]:
    """The link target of each glossary entry, as JupyterLab and the docs site both make it."""
    text = "\n\n".join(c.source for c in read(GLOSSARY).cells if c.cell_type == "markdown")
    heads = re.findall(r"^## (.+)$", text, flags=re.M)
    return [h.strip().replace(" ", "-") for h in heads]


def markdown_of(nb) -> str:
    """The lesson's prose, headings left out (a term in a title is linked in the text below it)."""
    # the list of kernel source files a recap ends with names files, not terms
    text = "\n\n".join(c.source.split("**Kernel source discussed**")[0] for c in nb.cells if c.cell_type == "markdown")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def first_uses(text: str) -> dict[str, tuple[int | None, int | None]]:
    """For each term: the offset of its first glossary link, and of its first mention outside one."""
    links = {}
    blanked = list(text)
    for m in LINK.finditer(text):
        target = m.group(2)
        if glossary_anchor(target) is not None:
            links.setdefault(glossary_anchor(target), m.start())
            blanked[m.start():m.end()] = " " * (m.end() - m.start())
        else:  # another link: its text is prose, its target is not
            start = m.start(2)
            blanked[start:m.end(2)] = " " * (m.end(2) - start)
    plain = "".join(blanked)
    out = {}
    for anchor, pattern in TERMS.items():
        m = re.search(pattern, plain)
        out[anchor] = (links.get(anchor), m.start() if m else None)
    return out


def is_reveal(cell) -> bool:
    return cell.cell_type == "code" and "reveal" in cell.get("metadata", {}).get("tags", [])


def read(path: Path):
    return nbformat.read(path, as_version=4)


def run_cell(kc, code: str, timeout: int = 300) -> str:
    """Run `code` in the kernel `kc`; fail on an error; return what it printed."""
    out, errors = [], []

    def hook(msg):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            errors.append(f"{content['ename']}: {content['evalue']}")

    kc.execute_interactive(code, timeout=timeout, output_hook=hook)
    assert not errors, errors
    return "".join(out)
