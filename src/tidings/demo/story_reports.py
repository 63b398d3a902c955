"""Steps 4 and 5: a verifiable report from an encrypted chat; a decision with reasons.

The server never read the chat. Alice's device discloses the reported message and two
before it with their franking keys (`tidings report message ID --context 2`); the
server checks each against the commitment it stamped when relaying it, so the
moderator sees *verified* messages. The moderator claims the case, decides it, and
the affected person gets a statement of reasons (DSA Art. 17) in their inbox.
"""

from __future__ import annotations

from typing import Any

from tidings.client import report_requests as rr
from tidings.demo.context import Demo
from tidings.protocol.errors import TidingsError

ABUSE = ("hey alice", "why did you block my number?",
         "Answer me or I will come to your house tonight. You know what happens then.")
CONTEXT = 2
CATEGORY = "harassment"
FACTS = ("Threats of violence sent in a private chat, verified from the recipient's "
         "franked report.")


async def report_abuse(demo: Demo) -> None:
    n = demo.narrator
    await n.step(4, "Alice reports an abusive private message",
                 "Mallory sends Alice threats. The server cannot read them, but Alice can "
                 "report them with proof that these are exactly the messages it relayed.")
    mallory = await demo.person("mallory")
    alice = demo.people["alice"]
    for text in ABUSE:
        await mallory.messenger.send_text("alice", text)
        n.say(f'mallory → alice: "{text}"')
    got = [m for m in (await alice.messenger.receive(0)).messages if m.sender == "mallory"]
    n.check([m.text for m in got] == list(ABUSE), "alice's device decrypted all three",
            f"alice read {[m.text for m in got]!r}")
    threat = got[-1]
    ack: dict[str, Any] = await alice.client.call(rr.message_report(
        alice.messenger.crypto.reportable(), threat.id, CATEGORY,
        "He threatens to come to my house.", CONTEXT))
    n.check(bool(ack.get("verified")), f"report {ack.get('id')} received and verified by the "
            f"server: the message and {CONTEXT} before it match their franking commitments",
            f"the server answered {ack!r}")

    moderator = await demo.staff("moderator")
    queue: list[dict[str, Any]] = await moderator.client.call(rr.queue())
    ours = [c for c in queue if c["id"] == ack["case_id"]]
    n.check(bool(ours) and ours[0]["source"] == "verified_private_report",
            f"moderator {moderator.name} sees case {ack['case_id']} in the review queue as a "
            "verified private report", f"the queue holds {queue!r}")
    case: dict[str, Any] = await moderator.client.call(rr.case(ack["case_id"]))
    [report] = [r for r in case["reports"] if r["id"] == ack["id"]]
    shown = [m["text"] for m in report["messages"]]
    n.check(report["verified"] and set(shown) == set(ABUSE)
            and all(m["sender"] == "mallory" for m in report["messages"]),
            f"the case shows the reported message and its context ({len(shown)} messages, "
            "each verified as sent by mallory)", f"the case shows {report!r}")
    demo.facts["case_id"] = ack["case_id"]
    demo.facts["report_id"] = ack["id"]


async def decide(demo: Demo) -> None:
    n = demo.narrator
    await n.step(5, "A moderator decides; the user gets a statement of reasons",
                 "The moderator claims the case (so no one else decides it at the same "
                 "time), decides, and the platform tells both sides.")
    case_id = str(demo.facts["case_id"])
    moderator = await demo.staff("moderator")
    mallory, alice = demo.people["mallory"], demo.people["alice"]
    claimed = await moderator.client.call(rr.claim(case_id))
    n.check(claimed["state"] == "claimed" and claimed["lease_holder"] == moderator.name,
            f"{moderator.name} claimed case {case_id}", f"the case is {claimed!r}")
    decided = await moderator.client.call(rr.decide(case_id, "suspend_account", CATEGORY,
                                                    FACTS))
    n.check(decided["state"] == "decided" and decided["decision"] == "suspend_account",
            "decided: suspend mallory's account (terms of service: harassment)",
            f"the case is {decided!r}")

    notices: list[dict[str, Any]] = await mallory.client.call(rr.notices())
    statements = [x for x in notices
                  if x["kind"] == "statement_of_reasons" and x["case_id"] == case_id]
    text = str(statements[0].get("statement", {}).get("text", "")) if statements else ""
    n.check(bool(text), "mallory received a statement of reasons in his inbox",
            f"his notices are {notices!r}")
    n.show("statement of reasons, as mallory reads it (`tidings notices`)", text)
    try:
        await mallory.messenger.send_text("alice", "still there?")
        refused = ""
    except TidingsError as exc:
        refused = exc.code
    n.check(refused == "account_suspended", "mallory can no longer send: "
            f"the server answers {refused}", f"the server answered {refused or 'OK'}")
    outcomes: list[dict[str, Any]] = await alice.client.call(rr.notices())
    told = [x for x in outcomes if x["kind"] == "report_outcome" and x["case_id"] == case_id]
    n.check(bool(told), f"alice was told the outcome of her report: "
            f"\"{told[0]['outcome'] if told else ''}\"", f"her notices are {outcomes!r}")
