"""Write a realistic township as import files: orgs.csv, members.csv, records.csv, dues.csv.

Reproducible from a seed. Used for the demo township under data/demo/ and for benchmarks:

    python -m benchmarks.generate --branches 200 --out /tmp/town200
    python -m benchmarks.generate --demo --out data/demo
    python -m benchmarks.generate --province --branches 10000 --years 2 --out /tmp/prov10k

(a province: see benchmarks/generate_province.py)

Records cover one year up to `as_of` (2026-11-20: imports refuse meetings after today) with realistic gaps: each branch has a diligence,
and a few records miss their quorum, their signatures or photos, fall on the wrong day, or are
entered late.
"""

from __future__ import annotations

import argparse
import csv
import functools
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
from dateutil.relativedelta import relativedelta

# Villages named in seed 003 (图河镇六大专项行动).
TUHE_VILLAGES = ["朱庄村", "马屯村", "义民村", "九段村", "图河村", "安福村", "兴隆村", "官场村"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华玉兰志强海燕国强红梅春梅德明文华金凤永红玉梅立新宏伟晓东"
ORDINALS = "一二三四五六七八九十"
HOURS = {"党课": 4, "主题党日": 2, "固定学习日": 1.5}     # 学时 a record adds to each attendee's year
ORG_HEADER = ["名称", "上级", "类型", "代码", "领域", "执行规定", "成立日期", "启用日期", "书记", "有支委会"]
MEMBER_HEADER = ["姓名", "党组织", "党小组", "类别", "流动党员", "联系人", "入党日期", "出生日期", "性别"]
RECORD_HEADER = ["党组织", "类型", "日期", "应到", "实到", "主题", "记录人", "书记签字", "记录人签字", "党员", "党小组", "图片", "录入日期",
                 "参会人员", "请假人员", "谈话对象", "学时"]
DUES_HEADER = ["姓名", "党组织", "月份", "金额", "交纳日期"]
TOPICS = ["学习贯彻党的二十届四中全会精神", "学习《中国共产党章程》", "乡村振兴与集体经济发展", "党员冬春训", "党风廉政建设警示教育",
          "人居环境整治志愿服务", "防汛抗旱动员", "学习习近平总书记重要讲话精神", "党员发展工作讨论", "民生实事办理"]


@functools.cache
def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


class Rows:
    """A CSV file written row by row as the generator appends to it; counts its rows."""

    def __init__(self, fh, header: list[str]):
        self.writer = csv.writer(fh, lineterminator="\n")
        self.writer.writerow(header)
        self.count = 0

    def append(self, row: list[str]) -> None:
        self.writer.writerow(row)
        self.count += 1

    def __len__(self) -> int:
        return self.count


class Writer:
    """The generator's state: its random source, the year being written, and where rows go."""

    def __init__(self, rng: random.Random, year: int, as_of: date, sinks: dict[str, Rows] | None = None):
        self.rng, self.year, self.as_of = rng, year, as_of
        sinks = sinks or {}
        # Lists keep a township in memory; a province streams to Rows instead.
        self.orgs = sinks.get("orgs", [])
        self.members = sinks.get("members", [])
        self.records = sinks.get("records", [])
        self.dues = sinks.get("dues", [])
        self.names: set[str] = set()
        # The demo's: a member drawn 预备 who joined before this day is written 正式, as a real roster has them (a 预备
        # member of 1972 made `members indicators` flag every branch). Drawn as before, so the records are the same.
        self.probation_from: date | None = None

    def person(self) -> str:
        while True:
            name = self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))
            if name not in self.names or len(self.names) > 40000:
                self.names.add(name)
                return name

    def day_in(self, first: date, last: date) -> date:
        last = min(last, self.as_of)
        return first + timedelta(days=self.rng.randrange((last - first).days + 1))

    def record(self, org: str, kind: str, held: date, expected: int | None = None, present: int | None = None,
               topic: str = "", signed: bool = True, member: str = "", group: str = "", photos: str = "",
               attendees: list[str] | None = None, excused: list[str] | None = None, counterpart: str = "",
               hours: float | None = None, rng: random.Random | None = None) -> None:
        rng = rng or self.rng
        late = rng.random() < 0.04
        recorded = held + timedelta(days=rng.randrange(70, 120) if late else rng.randrange(0, 5))
        recorded = min(recorded, self.as_of)
        sign = "是" if signed else "否"
        if attendees is not None:
            expected = present = None          # counted from the list and the roster on import
        self.records.append([org, kind, held.isoformat(), "" if expected is None else str(expected),
                             "" if present is None else str(present), topic, "", sign, sign, member, group,
                             photos, recorded.isoformat(), "、".join(attendees or []), "、".join(excused or []), counterpart,
                             "" if hours is None else f"{hours:g}"])

    def quarters(self) -> list[tuple[date, date]]:
        ends = [date(self.year, 3, 31), date(self.year, 6, 30), date(self.year, 9, 30), date(self.year, 12, 31)]
        return [(date(self.year, m, 1), end) for m, end in zip((1, 4, 7, 10), ends)]

    def months(self) -> list[tuple[date, date]]:
        result = []
        for m in range(1, 13):
            first = date(self.year, m, 1)
            last = (date(self.year, m + 1, 1) if m < 12 else date(self.year + 1, 1, 1)) - timedelta(days=1)
            if first <= self.as_of:
                result.append((first, last))
        return result


def _talks(w: Writer, path: str, names: list[str], diligence: float) -> None:
    """Write the year's 谈心谈话: members talk in pairs, so that each appears once; a few pairs have not talked yet.

    A random generator of its own (seeded by the branch) leaves every other record as it was.
    """
    rng = random.Random(f"{path}/谈心谈话/{w.year}")
    order = names[:]
    rng.shuffle(order)
    pairs = [(order[i], order[(i + 1) % len(order)]) for i in range(0, len(order), 2)] if len(order) > 1 else []
    for member, other in pairs:
        if rng.random() > diligence * 0.97:
            continue
        day = date(w.year, 1, 1) + timedelta(days=rng.randrange((w.as_of - date(w.year, 1, 1)).days + 1))
        w.record(path, "谈心谈话", day, topic="谈心谈话", member=member, counterpart=other, rng=rng)


@dataclass
class Branch:
    """A generated 党支部: its roster and what carries over from one year to the next."""

    path: str
    secretary: str
    vacant: bool
    village: bool
    founded: date | None
    size: int
    groups: int
    full: int
    roster: list[tuple[str, str, str]]          # (name, status, group) of members at home
    mobile_members: list[str]
    drifted: set[str] = field(default_factory=set)


def write_roster(w: Writer, path: str, parent: str, sector: str, founded: date | None = None, size: int | None = None,
            vacant: bool = False, village: bool = True) -> Branch:
    """Write the branch and its members; return the branch."""
    rng = w.rng
    name = path.rsplit("/", 1)[1]
    secretary = "空缺" if vacant else w.person()
    w.orgs.append([name, parent, "党支部", "", "" if village else sector, "", founded.isoformat() if founded else "", "", secretary, ""])
    size = size or rng.randrange(9, 40)
    groups = max(1, size // 12)
    full = 0
    mobile_members = []
    roster: list[tuple[str, str, str]] = []
    for i in range(size):
        status = "预备" if rng.random() < 0.05 else "正式"
        full += status == "正式"
        mobile = village and rng.random() < 0.1
        member = w.person()
        group = f"第{ORDINALS[i % groups]}党小组" if size >= 7 else ""
        born = date(rng.randrange(1940, 2000), rng.randrange(1, 13), rng.randrange(1, 28))
        joined = date(min(born.year + rng.randrange(20, 40), w.year - 1), rng.randrange(1, 13), rng.randrange(1, 28))
        written = "正式" if status == "预备" and w.probation_from is not None and joined < w.probation_from else status
        if written == "正式" and w.probation_from is not None and joined > w.as_of - relativedelta(years=1):
            # The demo's: a member 正式 on its day has ended a year as 预备 (one who joined in late 2025 was 正式 in
            # November 2026: try-out); the year before is written, the records drawn as before.
            joined = joined.replace(year=joined.year - 1)
        w.members.append([member, path, group, written, "是" if mobile else "否", secretary if mobile and not vacant else "",
                          joined.isoformat(), born.isoformat(), rng.choice("男男男女")])
        if mobile:
            mobile_members.append(member)
        else:
            roster.append((member, status, group))
    return Branch(path, secretary, vacant, village, founded, size, groups, full, roster, mobile_members)


def write_branch_year(w: Writer, b: Branch, diligence: float, dues: bool = True) -> None:
    """Write the branch's records (and dues payments) for `w.year`, with its gaps."""
    rng = w.rng
    path, size, groups, full, roster, mobile_members = b.path, b.size, b.groups, b.full, b.roster, b.mobile_members
    start = max(b.founded or date(w.year, 1, 1), date(w.year, 1, 1))
    # A few members drift away: they stop taking part (and some stop paying) after a month,
    # and stay away in the years after (-1: from the start of the year).
    drifting = {name: -1 for name in b.drifted}
    drifting.update({name: rng.choice((4, 5, 7)) for name, _, _ in roster if name not in b.drifted and rng.random() < 0.025})
    b.drifted.update(drifting)
    quarterly = {name for name, _, _ in roster if rng.random() < 0.1}
    payers = roster + [(name, "正式", "") for name in mobile_members]

    def here(day: date, pool: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
        return [m for m in pool if m[0] not in drifting or day.month <= drifting[m[0]]]

    def attend(day: date, pool: list[tuple[str, str, str]], voting: bool = False, short: bool = False) -> tuple[list[str], list[str]]:
        eligible = [m for m in here(day, pool) if not voting or m[1] == "正式"]
        if short:      # short of a quorum: half of the full members
            count = len([m for m in pool if m[1] == "正式"]) // 2
        else:
            count = max(1, round(len(eligible) * rng.uniform(0.78, 1.0)))
        chosen = rng.sample(eligible, min(count, len(eligible)))
        absent = [m[0] for m in pool if m not in chosen and m[0] not in drifting]
        return [m[0] for m in chosen], rng.sample(absent, min(len(absent), rng.choice((0, 0, 1, 2))))

    for month in range(1, 13 if dues else 1):
        first_day = date(w.year, month, 1)
        if first_day < start or first_day > w.as_of:
            continue
        for name, _, _ in payers:
            if name in drifting and month > drifting[name] + 1:
                continue
            if name in quarterly and (month - 1) % 3:
                continue
            months = [month] if name not in quarterly else [m for m in (month, month + 1, month + 2) if m <= 12]
            paid = date(w.year, month, rng.randrange(3, 12))
            if paid <= w.as_of:
                for m in months:
                    w.dues.append([name, path, f"{w.year}-{m:02d}", "12.5", paid.isoformat()])

    def held(first: date, last: date, chance: float = 1.0) -> date | None:
        first = max(first, start)
        if first > min(last, w.as_of) or rng.random() > diligence * chance:
            return None
        return w.day_in(first, last)

    for first, last in w.quarters():
        day = held(first, last)
        if day:
            came, excused = attend(day, roster, voting=True, short=rng.random() < 0.06)
            w.record(path, "党员大会", day, topic=rng.choice(TOPICS), signed=rng.random() > 0.08, attendees=came, excused=excused)
        day = held(first, last)
        if day:
            came, excused = attend(day, roster)
            w.record(path, "党课", day, topic=rng.choice(TOPICS), attendees=came, excused=excused, hours=HOURS["党课"])
    for first, last in w.months():
        if full >= 7:
            day = held(first, last)
            if day:
                committee = 5 if full >= 20 else 3
                present = committee // 2 if rng.random() < 0.04 else rng.randrange(committee // 2 + 1, committee + 1)
                w.record(path, "支委会", day, committee, present, rng.choice(TOPICS), signed=rng.random() > 0.1)
        if size >= 7:
            for g in range(groups):
                day = held(first, last)
                if day:
                    group = f"第{ORDINALS[g]}党小组"
                    came, excused = attend(day, [m for m in roster if m[2] == group])
                    w.record(path, "党小组会", day, topic=rng.choice(TOPICS), group=group, attendees=came, excused=excused)
        day = held(first, last)
        if day:
            photos = "" if rng.random() < 0.12 else f"IMG_{day:%Y%m%d}.jpg"
            came, excused = attend(day, roster)
            w.record(path, "主题党日", day, topic=rng.choice(TOPICS), photos=photos, attendees=came, excused=excused,
                     hours=HOURS["主题党日"])
        for nominal in (first.replace(day=10), first.replace(day=20)):
            if nominal < start or nominal > w.as_of or rng.random() > diligence:
                continue
            day = nominal
            while not is_workday(day):
                day += timedelta(days=1)
            if rng.random() < 0.5:
                day = nominal if day != nominal and rng.random() < 0.3 else day
            if rng.random() < 0.03:
                day = nominal + timedelta(days=2)   # kept on the wrong day
            if day <= w.as_of:
                came, excused = attend(day, roster)
                w.record(path, "固定学习日", day, topic=rng.choice(TOPICS), attendees=came, excused=excused,
                         hours=HOURS["固定学习日"])
    q4 = date(w.year, 10, 1)
    for kind in ("组织生活会", "民主评议党员"):
        day = held(q4, date(w.year, 12, 31), chance=0.5)
        if day:
            w.record(path, kind, day, full, rng.randrange(full // 2 + 1, full + 1), "年度" + kind)
    for member in mobile_members:
        lost = rng.random() < 0.3
        for first, last in ((date(w.year, 1, 1), date(w.year, 6, 30)), (date(w.year, 7, 1), date(w.year, 12, 31))):
            day = held(first, min(last, date(w.year, 3, 31)) if lost else last, chance=0.9)
            if day:
                w.record(path, "流动党员汇报", day, member=member, topic="思想工作情况汇报")
    _talks(w, path, [name for name, _, _ in roster] + mobile_members, diligence)


def write_elections(w: Writer, b: Branch, year: int) -> None:
    """Write a village branch's election five years before `year`, and most of the re-elections due in `year`."""
    if b.village and not b.founded:
        rng = w.rng
        elected = date(year - 5, rng.randrange(3, 5), rng.randrange(1, 28))
        w.record(b.path, "换届", elected, b.full, b.full, "换届选举")
        if rng.random() < 0.85:
            again = elected.replace(year=year) - timedelta(days=rng.randrange(0, 40))
            if again <= w.as_of:
                w.record(b.path, "换届", again, b.full, b.full, "换届选举")


def _branch(w: Writer, path: str, parent: str, sector: str, diligence: float, founded: date | None = None,
            size: int | None = None, vacant: bool = False, village: bool = True) -> None:
    """Write a branch, its members and one year of its records."""
    b = write_roster(w, path, parent, sector, founded, size, vacant, village)
    write_branch_year(w, b, diligence)
    write_elections(w, b, w.year)


def generate(out: Path, branches: int, seed: int = 2026, year: int = 2026, as_of: date = date(2026, 11, 20),
             town: str = "图河镇", villages: list[str] | None = None) -> dict[str, int]:
    """Write the three files for a township of about `branches` branches; return the row counts."""
    rng = random.Random(seed)
    w = Writer(rng, year, as_of)
    w.probation_from = date(year - 1, 1, 1)
    root = f"{town}党委"
    w.orgs.append([root, "", "乡镇党委", "TH", "农村", "tuhe-2021", "", f"{year - 1}-01-01", w.person(), ""])
    count, n = 0, 0
    while count < branches - 2:
        n += 1
        village = villages[n - 1] if villages and n <= len(villages) else f"第{n}村"
        per_village = rng.choice((1, 2, 2, 3))
        # Most villages keep their calendar; a few lag behind (软弱涣散 candidates).
        diligence = rng.uniform(0.6, 0.8) if rng.random() < 0.2 else rng.uniform(0.93, 1.0)
        if per_village == 1:
            path = f"{root}/{village}党支部"
            _branch(w, path, root, "农村", diligence, vacant=rng.random() < 0.05)
        else:
            general = f"{village}党总支"
            w.orgs.append([general, root, "党总支", "", "", "", "", "", w.person(), ""])
            for b in range(per_village):
                _branch(w, f"{root}/{general}/第{ORDINALS[b]}党支部", f"{root}/{general}", "农村",
                        min(1.0, diligence + rng.uniform(-0.05, 0.03)), vacant=rng.random() < 0.05)
        count += per_village
    _branch(w, f"{root}/{town}非公企业联合党支部", root, "两新", 0.7, founded=date(year, 5, 12), size=6, village=False)
    w.orgs[-1][4] = "两新"
    _branch(w, f"{root}/{town}机关党支部", root, "机关", 0.95, size=18, village=False)
    w.orgs[-1][4] = "机关"
    for first, last in w.quarters():
        if last < w.as_of and rng.random() < 0.75:
            w.record(root, "流动党员双联归档", last - timedelta(days=rng.randrange(0, 5)), topic="流动党员双联情况归档")
    out.mkdir(parents=True, exist_ok=True)
    for name, header, rows in (("orgs.csv", ORG_HEADER, w.orgs), ("members.csv", MEMBER_HEADER, w.members),
                               ("records.csv", RECORD_HEADER, w.records), ("dues.csv", DUES_HEADER, w.dues)):
        with open(out / name, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    return {"orgs": len(w.orgs), "members": len(w.members), "records": len(w.records), "dues": len(w.dues)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--branches", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--demo", action="store_true", help="the demo township: 图河镇 with villages named in seed 003")
    parser.add_argument("--province", action="store_true", help="a province of about --branches branches over --years years")
    parser.add_argument("--years", type=int, default=2, help="years of records of a province, up to 2026-11-20")
    parser.add_argument("--dues-share", type=float, default=0.1, help="share of a province's townships that record dues")
    args = parser.parse_args()
    if args.demo:
        counts = generate(args.out, 14, seed=20211012, villages=TUHE_VILLAGES)
    elif args.province:
        # Imported here: that module builds on this one.
        from benchmarks.generate_province import generate_province

        counts = generate_province(args.out, args.branches, seed=args.seed, years=args.years, dues_share=args.dues_share)
    else:
        counts = generate(args.out, args.branches, seed=args.seed)
    print(counts)


if __name__ == "__main__":
    main()
