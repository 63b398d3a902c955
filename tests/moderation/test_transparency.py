"""Transparency figures against counts computed independently from a seeded history."""

import csv
import io
import json
import random

from tidings.moderation.transparency import (
    ActionRecord,
    AppealRecord,
    DetectionChannel,
    NoticeRecord,
    OrderRecord,
    aggregate,
)

DAY = 86_400_000
START = 1_704_067_200_000  # 2024-01-01
END = START + 31 * DAY
LABELS = ["category:terrorist_content", "category:spam", "category:other_illegal"]
ACTIONS = ["reject", "hold", "ban_channel", "suspend_account", "strike"]
BANKS = ["GIFCT_TCAP", "OPERATOR_TERROR"]


def history(seed: int):
    rnd = random.Random(seed)
    actions, notices, appeals, orders = [], [], [], []
    for _ in range(400):
        src = rnd.choice(list(DetectionChannel))
        detected = rnd.randrange(START - 3 * DAY, END + 3 * DAY)
        actions.append(ActionRecord(
            rnd.choice(ACTIONS), rnd.choice(LABELS), src, detected,
            detected + rnd.randrange(0, 2 * DAY), src is DetectionChannel.HASH_MATCH,
            rnd.choice(BANKS) if src is DetectionChannel.HASH_MATCH else None,
            src is DetectionChannel.HASH_MATCH and rnd.random() < 0.3))
    for _ in range(200):
        notices.append(NoticeRecord(rnd.randrange(START - DAY, END + DAY),
                                    rnd.choice(list(DetectionChannel)[1:]), rnd.random() < .5))
    for _ in range(80):
        t = rnd.randrange(START - DAY, END + DAY)
        decided = t + rnd.randrange(DAY) if rnd.random() < 0.8 else None
        appeals.append(AppealRecord(t, decided, rnd.random() < 0.25))
    for _ in range(60):
        t = rnd.randrange(START - DAY, END + DAY)
        reason = rnd.choice([None, None, None, "force_majeure", "manifest_error"])
        done = None if reason else t + rnd.randrange(0, 2 * 3_600_000)
        orders.append(OrderRecord(t, done, reason))
    return actions, notices, appeals, orders


def test_figures_match_independent_counts():
    for seed in range(5):
        actions, notices, appeals, orders = history(seed)
        report = aggregate(START, END, actions, notices, appeals, orders)
        acts = [a for a in actions if START <= a.actioned_ms < END]
        assert report.actions_total == len(acts)
        for label in LABELS:
            assert report.actions_by_category.get(label, 0) == sum(a.label == label for a in acts)
        for bank in BANKS:
            assert report.actions_by_source.get(f"hash_match:{bank}", 0) == sum(
                a.bank == bank for a in acts)
        assert report.actions_by_source.get("trusted_flagger", 0) == sum(
            a.source.value == "trusted_flagger" for a in acts)
        for action in ACTIONS:
            assert report.actions_by_action.get(action, 0) == sum(a.action == action for a in acts)
        delays = sorted(a.actioned_ms - a.detected_ms for a in acts)
        assert report.median_time_to_action_ms == delays[(len(delays) - 1) // 2]
        assert report.automated_decisions + report.human_decisions == len(acts)
        assert report.automated_decisions == sum(a.source.value == "hash_match" for a in acts)
        assert report.reposts_blocked == sum(a.repost_blocked for a in acts)
        nots = [n for n in notices if START <= n.received_ms < END]
        assert sum(report.notices_by_source.values()) == len(nots)
        assert report.notices_actioned == sum(n.actioned for n in nots)
        apps = [a for a in appeals if START <= a.appealed_ms < END]
        assert report.appeals_received == len(apps)
        assert report.appeals_decided == sum(a.decided_ms is not None for a in apps)
        assert report.appeals_reversed == sum(a.decided_ms is not None and a.reversed
                                              for a in apps)
        ords = [o for o in orders if START <= o.received_ms < END]
        assert report.orders_received == len(ords)
        fast = 0
        for o in ords:
            if o.completed_ms is not None and o.completed_ms - o.received_ms <= 3_600_000:
                fast += 1
        assert report.orders_completed_within_hour == fast
        assert report.orders_not_complied == sum(o.not_complied_reason is not None for o in ords)
        assert sum(report.orders_not_complied_reasons.values()) == report.orders_not_complied
        bans: dict[str, int] = {}
        for a in acts:
            if a.action == "ban_channel" and a.label == "category:terrorist_content":
                day = (a.actioned_ms - START) // DAY + 1
                key = f"2024-01-{day:02d}"
                bans[key] = bans.get(key, 0) + 1
        assert report.terror_channel_bans_by_day == bans


def test_json_and_csv_outputs():
    report = aggregate(START, END, *history(1))
    blob = json.loads(json.dumps(report.to_json()))
    assert blob["actions_total"] == report.actions_total
    buf = io.StringIO()
    csv.writer(buf).writerows(report.csv_rows())
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert ["actions_total", "", str(report.actions_total)] in rows
    assert all(len(r) == 3 for r in rows)


def test_empty_period():
    report = aggregate(START, END)
    assert report.actions_total == 0 and report.median_time_to_action_ms is None
    assert ("median_time_to_action_ms", "", "") in report.csv_rows()
