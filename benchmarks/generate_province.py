"""Write a realistic province as import files: orgs.csv, members.csv, records.csv, dues.csv.

    python -m benchmarks.generate --province --branches 10000 --years 2 --out /tmp/prov10k

Branches are written as in a generated township (benchmarks.generate), for every year up to
`as_of`, and stream to the files, so a province of 50,000 branches (some 7 million records)
needs no more memory than one of 50.
"""

from __future__ import annotations

import contextlib
import random
from datetime import date, timedelta
from pathlib import Path

from benchmarks.generate import (
    DUES_HEADER,
    MEMBER_HEADER,
    ORDINALS,
    ORG_HEADER,
    RECORD_HEADER,
    Rows,
    Writer,
    write_branch_year,
    write_elections,
    write_roster,
)

# A province: cities of counties of townships (乡镇 with villages, 街道 with communities), each
# with its 机关 branch and "两新" organizations. Names are built from an index, so paths are unique.
PLACE_FIRST = "图新杨东西南北大小高王李张陈刘黄周吴徐孙胡朱马郭林何罗宋沙白"
PLACE_SECOND = "河集庄圩港桥湖山塘口店坊营屯岗沟楼寨湾洲铺"
FIRMS = ["科技", "纺织", "食品", "物流", "建材", "电子", "农业", "机械", "医药", "商贸"]
TOWNS_PER_COUNTY = 14
COUNTIES_PER_CITY = 6
# Counties choose a catalog; the generated records follow tuhe-2021 (固定学习日, 流动党员汇报).
COUNTY_CATALOGS = (("tuhe-2021", 7), ("wujin-2016", 1.5), ("", 1.5))


def place(index: int, suffix: str) -> str:
    """Return a place name unique for `index`: two characters, a number once those run out, then `suffix`."""
    first, rest = index % len(PLACE_FIRST), index // len(PLACE_FIRST)
    second, round_ = rest % len(PLACE_SECOND), rest // len(PLACE_SECOND)
    return PLACE_FIRST[first] + PLACE_SECOND[second] + (str(round_ + 1) if round_ else "") + suffix


class Province:
    """Writes branches of a province for several years, stopping at a number of branches."""

    def __init__(self, w: Writer, years: list[int], target: int, dues_share: float):
        self.w, self.years, self.target, self.dues_share = w, years, target, dues_share
        self.count = 0
        self.dues = True

    def full(self) -> bool:
        """Return whether the province has all its branches."""
        return self.count >= self.target

    def branch(self, path: str, parent: str, sector: str, diligence: float, size: int | None = None,
               vacant: bool = False, village: bool = True) -> None:
        """Write a branch, its members and its records for every year, unless the province is full."""
        w, rng = self.w, self.w.rng
        if self.full():
            return
        w.names.clear()                  # member names are unique within a branch
        w.year = self.years[0]
        b = write_roster(w, path, parent, sector, size=size, vacant=vacant, village=village)
        for year in self.years:
            w.year = year
            write_branch_year(w, b, min(1.0, max(0.0, diligence + rng.uniform(-0.04, 0.04))), self.dues)
        # Terms run five years: spread the branches' election years over a whole term.
        write_elections(w, b, rng.randrange(self.years[0], self.years[0] + 5))
        self.count += 1

    def township(self, parent: str, name: str, street: bool) -> None:
        """Write a 乡镇 (villages) or a 街道 (communities) with its 机关 and "两新" branches."""
        w, rng = self.w, self.w.rng
        self.dues = rng.random() < self.dues_share
        root = f"{parent}/{name}"
        kind, sector = ("街道党工委", "社区") if street else ("乡镇党委", "农村")
        w.orgs.append([name, parent, kind, "", sector, "", "", "", w.person(), ""])
        town = name[:-3] if street else name[:-2]
        self.branch(f"{root}/{town}机关党支部", root, "机关", rng.uniform(0.9, 1.0), size=rng.randrange(10, 25), village=False)
        self.two_new(root, town, street)
        units = rng.randrange(6, 15) if street else rng.randrange(12, 30)
        for n in range(units):
            if self.full():
                break
            diligence = rng.uniform(0.6, 0.8) if rng.random() < 0.2 else rng.uniform(0.93, 1.0)
            unit = place(n, "社区" if street else "村")
            per_unit = min(rng.choice((1, 2, 3, 4) if street else (1, 2, 2, 3)), self.target - self.count)
            if per_unit == 1:
                self.branch(f"{root}/{unit}党支部", root, sector, diligence, vacant=rng.random() < 0.05)
                continue
            general, general_type = (f"{unit}党委", "党委") if per_unit >= 3 else (f"{unit}党总支", "党总支")
            w.orgs.append([general, root, general_type, "", "", "", "", "", w.person(), ""])
            for b in range(per_unit):
                branch = f"第{ORDINALS[b]}网格党支部" if street else f"第{ORDINALS[b]}党支部"
                self.branch(f"{root}/{general}/{branch}", f"{root}/{general}", sector,
                            diligence + rng.uniform(-0.05, 0.03), vacant=rng.random() < 0.05)
        if not street:
            for year in self.years:
                w.year = year
                for first, last in w.quarters():
                    if last < w.as_of and rng.random() < 0.75:
                        w.record(root, "流动党员双联归档", last - timedelta(days=rng.randrange(0, 5)), topic="流动党员双联情况归档")

    def two_new(self, root: str, town: str, street: bool) -> None:
        """Write the township's "两新" organizations: a joint branch, and in a street a few firms' own."""
        w, rng = self.w, self.w.rng
        self.branch(f"{root}/{town}非公企业联合党支部", root, "两新", rng.uniform(0.6, 0.85), size=rng.randrange(5, 12), village=False)
        for n in range(rng.randrange(1, 4) if street else 0):
            if self.full():
                break
            firm = f"{town}{FIRMS[n]}有限公司"
            if rng.random() < 0.5:
                self.branch(f"{root}/{firm}党支部", root, "两新", rng.uniform(0.7, 0.95), size=rng.randrange(5, 20), village=False)
                continue
            w.orgs.append([f"{firm}党委", root, "党委", "", "两新", "", "", "", w.person(), ""])
            for b in range(rng.randrange(2, 4)):
                self.branch(f"{root}/{firm}党委/第{ORDINALS[b]}党支部", f"{root}/{firm}党委", "两新", rng.uniform(0.7, 0.95),
                            size=rng.randrange(5, 20), village=False)


def generate_province(out: Path, branches: int, seed: int = 2026, years: int = 2, as_of: date = date(2026, 11, 20),
                      province: str = "江淮省", dues_share: float = 0.1) -> dict[str, int]:
    """Write the four files for a province of about `branches` branches and `years` years up to `as_of`; return the row counts.

    Rows go to the files as they are made, so memory stays flat at any size. A share
    `dues_share` of the townships record their members' dues.
    """
    rng = random.Random(seed)
    first_year = as_of.year - years + 1
    out.mkdir(parents=True, exist_ok=True)
    headers = {"orgs": ORG_HEADER, "members": MEMBER_HEADER, "records": RECORD_HEADER, "dues": DUES_HEADER}
    with contextlib.ExitStack() as stack:
        sinks = {name: Rows(stack.enter_context(open(out / f"{name}.csv", "w", encoding="utf-8", newline="")), header)
                 for name, header in headers.items()}
        w = Writer(rng, first_year, as_of, sinks)
        root = f"{province}委"
        w.orgs.append([root, "", "党委", "JH", "", "national-2018", "", f"{first_year}-01-01", w.person(), ""])
        p = Province(w, list(range(first_year, as_of.year + 1)), branches, dues_share)
        town = 0
        while not p.full():
            county_index, town_in_county = divmod(town, TOWNS_PER_COUNTY)
            city = f"{root}/{place(county_index // COUNTIES_PER_CITY + 11, '市委')}"
            if town_in_county == 0 and county_index % COUNTIES_PER_CITY == 0:
                w.orgs.append([city.rsplit("/", 1)[1], root, "党委", "", "", "", "", "", w.person(), ""])
            county = f"{city}/{place(county_index + 5, '县委')}"
            if town_in_county == 0:
                catalog = rng.choices([c for c, _ in COUNTY_CATALOGS], [weight for _, weight in COUNTY_CATALOGS])[0]
                w.orgs.append([county.rsplit("/", 1)[1], city, "县委", "", "", catalog, "", "", w.person(), ""])
            street = rng.random() < 0.25
            p.township(county, place(town, "街道党工委" if street else "镇党委"), street)
            town += 1
    return {name: len(sink) for name, sink in sinks.items()} | {"branches": p.count}
