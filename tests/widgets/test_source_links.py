"""Each event-log line links the kernel function to its source file: the file
name is on the page (no network needed to read it), the title names file and
function, the href is a source-browser URL the reader may follow; the same in
the Explorer and in the kernel-free stepper."""

from html.parser import HTMLParser

from pagewalk_edu.kernel import make_scenario, run
from pagewalk_edu.viz.kernel_source import ELIXIR, source_ref
from pagewalk_edu.viz.stepper import write_stepper
from pagewalk_edu.widgets import Explorer
from pagewalk_edu.widgets.explorer_view import event_log_html


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self._cur = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._cur = [dict(attrs), ""]

    def handle_data(self, data):
        if self._cur is not None:
            self._cur[1] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._cur is not None:
            self.links.append((self._cur[0], " ".join(self._cur[1].split())))
            self._cur = None


def _links(html: str):
    p = _Links()
    p.feed(html)
    return p.links


def _trace():
    return run(make_scenario("rcu", "munmap", config="PT_RECLAIM=n", fault="batch_alloc_fail"))


def _check(links, events):
    assert len(links) == sum(1 for e in events if e.source)
    for (attrs, text), e in zip(links, [e for e in events if e.source]):
        path, func = source_ref(e)
        assert text == f"{e.function}() ({path})", text  # the accessible name: function and file
        assert attrs["href"] == ELIXIR + path
        assert path in attrs["title"] and "elixir.bootlin.com" in attrs["title"]
        if func != e.function:
            assert f"{func}()" in attrs["title"]
        assert attrs.get("rel") == "noopener noreferrer" and attrs.get("target") == "_blank"


def test_every_event_log_line_links_its_function_to_the_source_file():
    t = _trace()
    links = _links(event_log_html(t, len(t.events), {}))
    _check(links, t.events)
    texts = [x for _, x in links]
    assert any(x.endswith("(mm/mmu_gather.c)") for x in texts)
    assert any(x.endswith("(mm/pagewalk.c)") for x in texts)


def test_the_explorer_shows_the_links_and_the_current_step_links_too():
    e = Explorer(("rcu",), "munmap", config={"PT_RECLAIM": False}, fault="batch_alloc_fail")
    for _ in range(5):
        e.do_step()
    _check(_links(e.event_log.value), e.trace.events[: e.index])
    now = _links(e.now.value)
    assert len(now) == 1 and now[0][1] == f"{e.trace.events[e.index - 1].function}() ({source_ref(e.trace.events[e.index - 1])[0]})"


def test_the_kernel_free_stepper_links_each_log_line(tmp_path):
    t = _trace()
    page = write_stepper(t, tmp_path / "s", "a stepper").read_text(encoding="utf-8")
    log = page[page.index('<ol id="log"'): page.index("</ol>")]
    _check(_links(log), t.events)
    assert "(mm/mmu_gather.c)" in page
