"""The glossary covers every term the lessons rely on, and each lesson links each
term it uses at its first use."""

import re

import pytest

from lessons import GLOSSARY, GLOSSARY_LINK, LINK, NOTEBOOKS, ROOT, TERMS, first_uses, glossary_anchor, glossary_anchors, markdown_of, read

#: Terms the course must explain (the ones a newcomer met unexplained before).
REQUIRED = {"ipi", "grace-period", "quiescent-state", "tlb-flush", "mmu_gather", "gup-and-gup-fast", "thp", "deposit",
            "local-and-remote-walker", "mm_cpumask", "mmu_gather_rcu_table_free", "table-free-fallback", "force_flush",
            "i_mmap", "folio", "anon-and-file-vma", "detached"}


def test_the_glossary_has_every_required_term_and_each_entry_is_checked():
    anchors = glossary_anchors()
    assert REQUIRED <= set(anchors), REQUIRED - set(anchors)
    assert set(anchors) == set(TERMS), ("glossary entries and the words lessons use for them", set(anchors) ^ set(TERMS))
    assert len(anchors) == len(set(anchors)), "two entries with the same heading"
    index = read(GLOSSARY).cells[0].source
    assert all(f"](#{a})" in index for a in anchors), "the index at the top links every entry"


def test_glossary_pictures_exist_and_have_alt_text():
    text = "\n".join(c.source for c in read(GLOSSARY).cells)
    assert all(c.cell_type == "markdown" for c in read(GLOSSARY).cells), "the glossary is prose: it opens rendered in JupyterLab"
    pictures = re.findall(r"!\[([^\]]*)\]\(([^)]+)\)", text)
    assert {"img/grace-period.svg", "img/ipi-irqs-off.svg"} <= {p for _, p in pictures}
    for alt, path in pictures:
        assert alt.strip(), f"{path} has no alt text"
        assert (GLOSSARY.parent / path).is_file(), path
        assert "<title>" in (GLOSSARY.parent / path).read_text(encoding="utf-8"), f"{path} has no <title>"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_term_is_linked_at_its_first_use(path):
    text = markdown_of(read(path))
    anchors = set(glossary_anchors())
    for m in LINK.finditer(text):
        if glossary_anchor(m.group(2)) is not None:
            assert glossary_anchor(m.group(2)) in anchors, f"{path.name} links a term the glossary lacks: {m.group(2)}"
    problems = []
    for anchor, (link, plain) in first_uses(text).items():
        if plain is not None and (link is None or link > plain):
            problems.append(f"{anchor!r} first used unlinked: ...{text[max(0, plain - 40):plain + 40]!r}...")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_a_glossary_link_opens_its_term_in_jupyterlab():
    """JupyterLab 4 scrolls to a fragment in another notebook only when it names a cell id
    (`#cell-id=...`), so each term's cell has its anchor as id and the lessons link that form."""
    cells = {c.id: c.source for c in read(GLOSSARY).cells}
    for anchor in glossary_anchors():
        assert cells.get(anchor, "").startswith("## "), f"the glossary cell of {anchor!r} has another id"
    for path in NOTEBOOKS:
        for cell in read(path).cells:
            if cell.cell_type != "markdown":
                continue
            for m in LINK.finditer(cell.source):
                if glossary_anchor(m.group(2)) is not None:
                    assert m.group(2).startswith(GLOSSARY_LINK), f"{path.name}: {m.group(0)} does not open the term in JupyterLab"


def test_first_use_check_catches_an_unlinked_term():
    uses = first_uses("A grace period, then the [grace period](glossary.ipynb#grace-period) again.")
    link, plain = uses["grace-period"]
    assert plain < link
    uses = first_uses("The [IPI](glossary.ipynb#ipi) and the IPI.")
    link, plain = uses["ipi"]
    assert link < plain


def test_the_docs_site_carries_the_glossary_and_the_lessons_links_reach_it(tmp_path, monkeypatch):
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import build_docs

    monkeypatch.setattr(build_docs, "DOCS", tmp_path)
    build_docs.copy_lessons()
    assert (tmp_path / "glossary.ipynb").read_bytes() == GLOSSARY.read_bytes()
    assert not (tmp_path / "lessons" / "glossary.ipynb").exists(), "the glossary is a page of its own, not a lesson"
    assert (tmp_path / "img" / "grace-period.svg").is_file()
    for path in NOTEBOOKS:  # the lessons and the tutorial
        copied = (tmp_path / "lessons" / path.name).read_text(encoding="utf-8")
        assert "](glossary.ipynb" not in copied and ("](../glossary.ipynb" in copied) == ("](glossary.ipynb" in path.read_text(encoding="utf-8"))
        assert "cell-id=" not in copied, "on the site a term is reached by its heading's anchor"
    toc = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert "\nglossary\n" in toc and "\ntutorial\n" in toc and "lessons/tutorial-90min" in toc
