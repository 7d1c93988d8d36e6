"""write_report on a hand-made study: every file, valid images, one self-contained page."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser
from pathlib import Path

import optuna
import pytest
from PIL import Image
from report_studies import make_study

from scalesearch.core.errors import SearchError
from scalesearch.core.spec import NetSpec
from scalesearch.report.plots import network_points, pareto, shares
from scalesearch.report.render import scale_leader, write_report
from scalesearch.report.view import rebuild_command, view

PLOTS = ["budget-shares", "accuracy-vs-flops", "leaders", "learning-curves"]


class Page(HTMLParser):
    """Every img src and every attribute value that could load something."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")


def load(folder: Path) -> optuna.Study:
    return optuna.load_study(study_name="tiny-study", storage=f"sqlite:///{folder / 'study.db'}")


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text())
    return page


def test_every_file_is_written(study_dir: Path) -> None:
    rep = write_report(load(study_dir), study_dir / "report")
    names = [p.name for p in rep.files]
    assert names == [f"{p}.png" for p in PLOTS] + ["index.html", "summary.md"]
    for name in PLOTS:
        with Image.open(study_dir / "report" / f"{name}.png") as img:
            img.verify()
            assert img.size[0] > 400 and img.size[1] > 200
    assert rep.view.finished and rep.notes == []
    # The evidence behind the answer is in both documents: the rung's spread and noise, the leaders set.
    for doc in ("index.html", "summary.md"):
        text = (study_dir / "report" / doc).read_text()
        assert "rung 0 (3 epochs x 1 seed): accuracy spread" in text and "leaders at rung 0" in text


def test_the_page_embeds_every_plot_and_loads_nothing(study_dir: Path) -> None:
    rep = write_report(load(study_dir), study_dir / "report")
    text = (rep.folder / "index.html").read_text()
    page = parse(rep.folder / "index.html")
    assert len(page.images) == len(PLOTS)
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    for external in ("http://", "https://", 'src="//', "href="):
        assert external not in text
    assert "script" not in page.tags and "link" not in page.tags
    assert "scalesearch grid" in text and "Noise verdict" in text  # the command and the verdict


def test_the_table_is_the_ranking(study_dir: Path) -> None:
    rep = write_report(load(study_dir), study_dir / "report")
    md = (rep.folder / "summary.md").read_text().splitlines()
    table = [line for line in md if line.startswith("| ")]
    assert table[0].startswith("| rank | alpha | beta | gamma |")
    first = [c.strip() for c in table[2].strip("|").split("|")]
    assert first[:4] == ["1", "1", "1.2", "1.15"]  # network 2 has the best accuracy
    assert len(table) == 2 + 6 and any(line.startswith("| 5 (base) |") for line in table)


def test_svg_plots_are_embedded_too(study_dir: Path) -> None:
    rep = write_report(load(study_dir), study_dir / "r", fmt="svg")
    assert all(p.suffix in (".svg", ".html", ".md") for p in rep.files)
    assert all(s.startswith("data:image/svg+xml;base64,") for s in parse(rep.folder / "index.html").images)


def test_family_is_drawn_when_given(study_dir: Path) -> None:
    v = view(load(study_dir))
    family = scale_leader(v, [0.0, 1.0, 2.0])
    assert list(family["phi"]) == [0.0, 1.0, 2.0]
    rep = write_report(load(study_dir), study_dir / "report", family=family, the_view=v)
    assert (rep.folder / "family.png").stat().st_size > 1000
    assert len(parse(rep.folder / "index.html").images) == len(PLOTS) + 1


def test_a_running_study_is_reported_as_far_as_done(tmp_path: Path, tiny_spec: NetSpec) -> None:
    folder = make_study(tmp_path / "live", tiny_spec, running=True)
    rep = write_report(load(folder), folder / "report")
    assert not rep.view.finished and rep.view.running == 1
    assert any("not finished" in n for n in rep.notes)
    assert "not finished" in (rep.folder / "index.html").read_text()


def test_a_study_with_nothing_trained_is_refused(tmp_path: Path, tiny_spec: NetSpec) -> None:
    folder = make_study(tmp_path / "empty", tiny_spec, trained=False)
    with pytest.raises(SearchError, match="no finished proxy run"):
        write_report(load(folder), folder / "report")
    assert not (folder / "report").exists()


def test_shares_and_pareto() -> None:
    assert shares(1.0, 1.0, 1.0) is None
    d, w, r = shares(1.2, 1.1, 1.15)  # type: ignore[misc]  # not None: the product is not 1
    assert d + w + r == pytest.approx(1.0) and d > 0 and w > 0 and r > 0
    assert shares(2.0, 1.0, 1.0) == pytest.approx((1.0, 0.0, 0.0))


def test_collapse_groups_are_one_point(study_dir: Path) -> None:
    pts = network_points(view(load(study_dir)).table)
    assert sorted(pts["network"]) == [0, 1, 2, 3, 4]  # one point per trained network
    assert int(pts.loc[pts["network"] == 3, "members"].iloc[0]) == 2
    front = pareto(pts)
    assert list(front["network"]) == [0, 1, 2]  # network 3 costs more than 2 for less accuracy


def test_rebuilt_command_has_the_settings() -> None:
    cmd = rebuild_command({"baseline": "b0", "target_flops": 400000000, "w": -0.07, "rungs": [[15, 2], [30, 2]],
                           "references": ["paper", "uniform"], "proxy": {"batch_size": 64, "lr": None}})
    assert cmd == ("scalesearch grid --baseline b0 --target-flops 400000000 --w -0.07 --rungs 15x2,30x2 "
                   "--references paper,uniform --batch-size 64")


def test_reference_and_rung_columns_are_used_when_present(study_dir: Path) -> None:
    # Newer searches add both columns to the ranked frame; the report shows them and labels the points.
    v = view(load(study_dir))
    table = v.table.copy()
    table["reference"] = ["", "paper", "", "", "", ""]
    table["rung"] = [1, 2, 2, 1, 1, None]
    rep = write_report(load(study_dir), study_dir / "report", the_view=dataclasses.replace(v, table=table))
    head = next(line for line in (rep.folder / "summary.md").read_text().splitlines() if line.startswith("| rank"))
    assert "| rung |" in head and "| reference |" in head
    assert "paper" in (rep.folder / "summary.md").read_text()


def test_leaders_come_from_best_json_when_it_names_them(study_dir: Path) -> None:
    v = view(load(study_dir), {"leaders": [{"alpha": 1.2, "beta": 1.1, "gamma": 1.15}, {"alpha": 9, "beta": 9,
                                                                                       "gamma": 9}]})
    assert v.leaders == (1,) and v.leader_networks == [1]
    assert view(load(study_dir)).leaders[0] == 2  # else the top ranked ones
    as_written = {"leaders": {"rung": 0, "members": [{"alpha": 1.0, "beta": 1.2, "gamma": 1.15}]}}  # grid's form
    assert view(load(study_dir), as_written).leaders == (2,)
