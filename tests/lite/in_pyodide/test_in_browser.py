"""In the browser the package does what a lesson needs, and says why when it cannot."""

from importlib import resources

from pagewalk_edu.tables import load_tables_scenario
from pagewalk_edu.tables.check import check


def test_tables_check_in_the_browser_says_why_and_still_predicts():
    scenario = load_tables_scenario(resources.files("pagewalk_edu") / "scenarios" / "tables" / "public-example.json")
    c = check(scenario)
    assert c.unavailable and "\n" not in c.unavailable
    assert "browser" in c.unavailable and "prediction" in c.unavailable
    assert c.results and all(r.real_page_table_bytes is None for r in c.results)
    assert all(r.page_table_bytes >= 0 for r in c.results)
