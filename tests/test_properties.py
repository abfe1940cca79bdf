"""Properties: random valid campaigns compile; random mutations never crash the validator."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cascade.compile.build import compile_plan
from cascade.compile.reading import read_yaml
from cascade.errors import CampaignInvalid
from tests.conftest import hierarchy

UNITS = hierarchy()
LEVELS = ["province", "district", "grassroots"]
ISSUED = date(2020, 11, 10)


def _dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


days = st.integers(min_value=1, max_value=120).map(lambda n: ISSUED + timedelta(days=n))
durations = st.sampled_from(["1d", "3d", "7d", "12h", "2w", "2wd", "P5D"])


@st.composite
def due_expressions(draw: st.DrawFn, earlier: list[tuple[str, str]], level: str) -> dict[str, Any]:
    same_level = [task for task, lv in earlier if lv == level]
    forms = ["before", "by", "on", "within-month", "within-half", "within-quarter"]
    form = draw(st.sampled_from(forms + (["after"] * 2 if same_level else [])))
    day = draw(days)
    if form in ("before", "by"):
        due: dict[str, Any] = {form: _dmy(day)}
    elif form == "on":
        due = {"on": f"{_dmy(day)}..{_dmy(day + timedelta(days=draw(st.integers(0, 3))))}"}
    elif form == "within-month":
        due = {"within": f"{day.month}/{day.year}"}
    elif form == "within-half":
        due = {
            "within": f"{draw(st.sampled_from(['first-half', 'second-half', 'end']))} {day.month}/{day.year}"
        }
    elif form == "within-quarter":
        quarter = (day.month - 1) // 3 + 1
        due = {
            "within": draw(
                st.sampled_from(
                    [f"Q{quarter}/{day.year}", f"{'I' * quarter if quarter < 4 else 'IV'}/{day.year}"]
                )
            )
        }
    else:
        due = {"after": draw(st.sampled_from(same_level))}
        due[draw(st.sampled_from(["days", "working_days"]))] = draw(st.integers(0, 10))
        if draw(st.booleans()):
            due["latest"] = _dmy(draw(days))
    if draw(st.booleans()):
        due["roll"] = draw(st.sampled_from(["previous-working-day", "next-working-day"]))
    return due


@st.composite
def campaigns(draw: st.DrawFn) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = []
    earlier: list[tuple[str, str]] = []
    for n in range(draw(st.integers(1, 6))):
        level = draw(st.sampled_from(LEVELS))
        task: dict[str, Any] = {
            "id": f"t{n}",
            "title": f"Nhiệm vụ {n}",
            "level": level,
            "due": draw(due_expressions(earlier, level)),
        }
        parents = [t for t, lv in earlier if LEVELS.index(lv) == LEVELS.index(level) - 1]
        if "after" not in task["due"] and parents and draw(st.booleans()):
            task["opens_after"] = {"task": draw(st.sampled_from(parents)), "at": "parent"}
            if draw(st.booleans()):
                task["min_window"] = draw(durations)
        if draw(st.booleans()):
            task["fields"] = {
                "a": {"type": "int", "required": True, "min": 0},
                "b": {"type": "int", "min": 1},
                "rate": {"formula": "a / b", "target": draw(st.sampled_from([">= 0.85", "> 50%"]))},
            }
        if draw(st.booleans()):
            task["remind"] = draw(st.lists(durations, max_size=3))
        source = task["due"].get("after")
        if source is not None:  # count from a source that every unit of this task has
            task["exclude"] = next(t.get("exclude", []) for t in tasks if t["id"] == source)
        elif draw(st.booleans()):
            task["exclude"] = draw(st.lists(st.sampled_from(sorted(UNITS.units)), max_size=2, unique=True))
        tasks.append(task)
        earlier.append((task["id"], level))
    data: dict[str, Any] = {
        "campaign": {
            "id": "random",
            "title": "Ngẫu nhiên",
            "issued_on": _dmy(ISSUED),
            "units": "units.yaml",
            "summary_date": _dmy(ISSUED + timedelta(days=draw(st.integers(30, 200)))),
        },
        "defaults": {
            "escalate": [
                {"after": "1d", "to": ["self", "parent"]},
                {"after": "3d", "to": ["ancestor:2", "level:province"], "repeat": "7d"},
            ],
            "quiet_hours": draw(st.sampled_from(["21:00-07:00", "12:00-13:30", "none"])),
        },
        "tasks": tasks,
    }
    if draw(st.booleans()):
        data["reports"] = [
            {
                "id": "bc",
                "title": "Báo cáo",
                "from": draw(st.sampled_from([["grassroots"], ["district", "grassroots"]])),
                "due": {"before": _dmy(draw(days))},
                "step": draw(durations),
                "opens": "10d",
                "rollup": [f"{tasks[0]['id']}.done"],
            }
        ]
    return data


def compile_data(data: object) -> Any:
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return compile_plan(read_yaml(text, "random.yaml"), UNITS)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(campaigns())
def test_random_valid_campaigns_compile(data: dict[str, Any]) -> None:
    plan = compile_data(data)
    issued = plan.campaign.issued_at
    assert {t.id for t in plan.tasks.values()} == {t["id"] for t in data["tasks"]} | {
        r["id"] for r in data.get("reports", [])
    }
    for instance in plan.instances:
        schedule = instance.schedule
        if schedule.deadline is None:
            assert plan.tasks[instance.task].rule.is_relative
            continue
        assert all(issued <= t < schedule.deadline for t in schedule.reminders)
        assert list(schedule.reminders) == sorted(schedule.reminders)
        assert all(t >= schedule.deadline for t in schedule.escalations)
        if plan.tasks[instance.task].kind == "report":
            assert (instance.opening.at is not None and instance.opening.at <= schedule.deadline) or (
                instance.opening.at == issued
            )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += _paths(child, (*prefix, i))
    return out


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.dates(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(
        [
            "31/11/2020",
            "11/20/2020",
            "Q5/2021",
            "0d",
            "-1d",
            "t0",
            "self",
            "ancestor:0",
            "level:x",
            "a / 0",
            ">= x",
            "P1M",
            "a..b",
        ]
    ),
)


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    data = copy.deepcopy(draw(campaigns()))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "rename", "duplicate"]))
        key = path[-1]
        if action == "replace":
            parent[key] = draw(junk)
        elif action == "delete":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = parent.pop(key)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return data


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_never_crash_the_validator(data: Any) -> None:
    try:
        compile_data(data)
    except CampaignInvalid as exc:
        assert exc.errors, "CampaignInvalid raised with no error"
        assert all(p.file == "random.yaml" or p.file == "units.yaml" for p in exc.problems)


@settings(deadline=None)
@given(campaigns(), st.data())
def test_text_damage_never_crashes_the_reader(data: dict[str, Any], draw: st.DataObject) -> None:
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    at = draw.draw(st.integers(0, len(text)))
    damage = draw.draw(st.sampled_from(["", ":", "- ", "{", "]", "\t", "  ", "'", "&a", "*b", "!!", "%"]))
    cut = draw.draw(st.integers(0, 3))
    try:
        compile_plan(read_yaml(text[:at] + damage + text[at + cut :], "random.yaml"), UNITS)
    except CampaignInvalid as exc:
        assert exc.errors


ids = st.sampled_from(["tu-a", "hu-b", "hu-c", "x-d", "x-e", "x-f", "Bad Id", ""])
levels = st.sampled_from(["province", "district", "grassroots", "ward", ""])
cells = st.one_of(
    st.sampled_from(["", "a@example.vn", "0912000001", "84912", "head", "x;y", '"', ",", "\n"]),
    st.text(max_size=6),
)


@settings(deadline=None)
@given(
    st.booleans(),
    st.lists(
        st.tuples(ids, st.text(max_size=5), levels, ids, cells, cells, cells, cells), min_size=0, max_size=12
    ),
)
def test_any_units_csv_is_read_or_refused_cleanly(levels_line: bool, rows: list[tuple[str, ...]]) -> None:
    from cascade.compile.units import read_units

    head = "# levels: province, district?, grassroots\n" if levels_line else ""
    body = "".join(",".join(row) + "\n" for row in rows)
    try:
        units = read_units(head + "id,name,level,parent,tags,role,email,phone\n" + body, "units.csv")
    except CampaignInvalid as exc:
        assert exc.errors
        assert all(p.file == "units.csv" for p in exc.problems)
    else:
        assert units.root.parent is None
        assert all(u.parent in units.units for u in units.units.values() if u.parent is not None)


unit_trees = st.recursive(
    st.fixed_dictionaries({"id": ids, "name": st.text(max_size=4), "level": levels}),
    lambda children: st.fixed_dictionaries(
        {"id": ids, "name": st.text(max_size=4), "level": levels, "children": st.lists(children, max_size=3)}
    ),
    max_leaves=10,
)


@settings(deadline=None)
@given(
    st.lists(
        st.one_of(levels, st.fixed_dictionaries({"name": levels, "optional": st.booleans()})), max_size=4
    ),
    st.lists(unit_trees, max_size=2),
    junk,
)
def test_any_units_yaml_is_read_or_refused_cleanly(
    level_list: list[Any], units: list[Any], extra: Any
) -> None:
    from cascade.compile.units import read_units

    data: dict[str, Any] = {"levels": level_list, "units": units}
    if isinstance(extra, int):
        data["extra"] = extra
    try:
        read_units(yaml.safe_dump(data, allow_unicode=True), "units.yaml")
    except CampaignInvalid as exc:
        assert exc.errors
