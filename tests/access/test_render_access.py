"""What a hostile live policy can put in front of a reviewer: nothing that a terminal or a
Markdown comment would interpret."""

from __future__ import annotations

from reconciler.plan.model import Action, Change, Plan, Target
from reconciler.render import plan_markdown, plan_text
from reconciler.rules.access import access_delta

TARGET = Target("http://127.0.0.1:1", "cn-beijing", "2100000000")
EVIL = "2100000001/\x1b[2J\x1b]0;owned\x07\u202eevil\nname"


def _plan() -> Plan:
    live = {"Statement": [{"Effect": "Allow", "Principal": [EVIL], "Action": ["tosvectors:GetVectors"],
                           "Resource": ["trn:tosvectors:cn-beijing:2100000000:bucket/b/index/\x1b[31mred*"]}]}
    delta = tuple(access_delta(live, None, "cn-beijing", "2100000000", "b", ()))
    assert delta  # the evil principal loses GetVectors on the evil pattern
    return Plan(TARGET, (Change("policy.b", "policy", Action.DELETE, {"document": live}, None, "test",
                                access_changes=delta),))


def test_access_lines_escape_what_a_terminal_would_interpret() -> None:
    text = plan_text(_plan())
    access = text.split("access:", 1)[1]
    assert "\x1b" not in access and "\x07" not in access and "\u202e" not in access
    line = next(line for line in access.splitlines() if "loses" in line)
    assert line.strip() == ("- 2100000001/\\u001b[2J\\u001b]0;owned\\u0007\\u202eevil\\u000aname loses "
                            "tosvectors:GetVectors on index/\\u001b[31mred*")


def test_access_table_cells_stay_in_their_cells() -> None:
    md = plan_markdown(_plan())
    row = next(line for line in md.splitlines() if line.startswith("| `-` |"))
    assert row.count(" | ") == 3 and "\x1b" not in row and "\n" not in row
