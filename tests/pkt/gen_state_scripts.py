"""Writes tests/pkt/scripts/states/<state>/<segment>.pkt: one script per (state, arriving
segment) pair of RFC 9293 3.10.7, each with the out-of-window (or unacceptable-ACK) case
first and the in-window case after, and the RFC rule cited. Run it to regenerate:

    .venv/bin/python tests/pkt/gen_state_scripts.py
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).parent / "scripts" / "states"
FAR = 1000001  # far beyond RCV.NXT + RCV.WND (the receive buffer is 256 KiB)

SERVER = """    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
"""
HANDSHAKE = """   +0 < S 0:0(0) win 10000 <mss 1000>
   +0 > S. 0:0(0) ack 1 <mss 1460>
"""
ESTABLISH = """  +.1 < . 1:1(0) ack 1 win 10000
   +0 accept(3, ..., ...) = 4
"""
CLIENT = """    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <...>
"""


@dataclass(frozen=True)
class Sync:
    """A synchronized state reached by a server-role preamble."""

    name: str  #: RFC name
    linux: str  #: tcpi_state name
    how: str  #: how the preamble gets there
    preamble: str
    snd: int  #: our SND.NXT (SND.MAX) in script numbers
    una: int  #: our SND.UNA
    rcv: int  #: our RCV.NXT


FW1 = "   +0 shutdown(4, SHUT_WR) = 0\n   +0 > F. 1:1(0) ack 1\n"
SYNC_STATES = [
    Sync("ESTABLISHED", "TCP_ESTABLISHED", "three-way handshake (server role)",
         SERVER + HANDSHAKE + ESTABLISH, 1, 1, 1),
    Sync("FIN-WAIT-1", "TCP_FIN_WAIT1", "shutdown(SHUT_WR) in ESTABLISHED sends our FIN",
         SERVER + HANDSHAKE + ESTABLISH + FW1, 2, 1, 1),
    Sync("FIN-WAIT-2", "TCP_FIN_WAIT2", "our FIN is acknowledged",
         SERVER + HANDSHAKE + ESTABLISH + FW1 + " +.01 < . 1:1(0) ack 2 win 10000\n", 2, 2, 1),
    Sync("CLOSE-WAIT", "TCP_CLOSE_WAIT", "the peer's FIN in ESTABLISHED",
         SERVER + HANDSHAKE + ESTABLISH
         + " +.01 < F. 1:1(0) ack 1 win 10000\n   +0 > . 1:1(0) ack 2\n", 1, 1, 2),
    Sync("CLOSING", "TCP_CLOSING", "the peer's FIN crosses ours (simultaneous close)",
         SERVER + HANDSHAKE + ESTABLISH + FW1
         + " +.01 < F. 1:1(0) ack 1 win 10000\n   +0 > . 2:2(0) ack 2\n", 2, 1, 2),
    Sync("LAST-ACK", "TCP_LAST_ACK", "shutdown(SHUT_WR) in CLOSE-WAIT sends our FIN",
         SERVER + HANDSHAKE + ESTABLISH
         + " +.01 < F. 1:1(0) ack 1 win 10000\n   +0 > . 1:1(0) ack 2\n"
         + "   +0 shutdown(4, SHUT_WR) = 0\n   +0 > F. 1:1(0) ack 2\n", 2, 1, 2),
]

SEGMENTS = ["syn", "synack", "rst", "rstack", "fin", "finack", "ack", "data"]
TITLES = {"syn": "SYN", "synack": "SYN,ACK", "rst": "RST", "rstack": "RST,ACK",
          "fin": "FIN (no ACK bit)", "finack": "FIN,ACK", "ack": "ACK", "data": "data (ACK)"}


def header(state: str, seg: str, how: str, rule: str) -> str:
    return (f"// State {state}, arriving segment: {TITLES[seg]}.\n// Reached by: {how}.\n"
            + "".join(f"// {line}\n" for line in rule.strip().splitlines()) + "\n")


def write(state: str, seg: str, text: str) -> None:
    path = OUT / state.lower() / f"{seg}.pkt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def assert_state(linux: str) -> str:
    return f"   +0 %{{ assert tcpi_state == {linux} }}%\n"


# -- synchronized states (RFC 9293 3.10.7.4) ---------------------------------------------------

OOW_RULE = ("RFC 9293 3.10.7.4 first step: an unacceptable segment (out of window) is\n"
            "answered <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (unless it is a RST) and dropped.")


def sync_scripts(st: Sync) -> None:
    ack_line = f"   +0 > . {st.snd}:{st.snd}(0) ack {{r}}\n"
    oow = (f"// Out of window (first step).\n"
           f" +.01 < {{flags}} {FAR}:{FAR + {0: 0}.get(0, 0)}(0) {{ack}}win 10000\n")
    del oow

    def out_of_window(flags: str, with_ack: bool, length: int = 0) -> str:
        ack = f"ack {st.snd} " if with_ack else ""
        text = "// Out of window: answered with an ACK, then dropped (first step).\n"
        text += f" +.01 < {flags} {FAR}:{FAR + length}({length}) {ack}win 10000\n"
        text += ack_line.format(r=st.rcv) + assert_state(st.linux)
        return text

    # SYN and SYN,ACK: RFC 5961 section 4 challenge ACK in window.
    for seg, flags, with_ack in (("syn", "S", False), ("synack", "S.", True)):
        ack = f" ack {st.snd}" if with_ack else ""
        rule = (OOW_RULE + "\nRFC 9293 3.10.7.4 fourth step with RFC 5961 section 4: a SYN in"
                " the window is\nanswered with a challenge ACK and dropped; the connection "
                "stays.")
        body = out_of_window(flags, with_ack)
        body += "// In window: challenge ACK (RFC 5961 4.2).\n"
        body += f" +.01 < {flags} {st.rcv + 5}:{st.rcv + 5}(0){ack} win 10000\n"
        body += ack_line.format(r=st.rcv) + assert_state(st.linux)
        write(st.name, seg, header(st.name, seg, st.how, rule) + st.preamble
              + assert_state(st.linux) + body)

    # RST and RST,ACK.
    closes_quietly = st.name in ("CLOSING", "LAST-ACK")
    for seg, flags, with_ack in (("rst", "R", False), ("rstack", "R.", True)):
        ack = f" ack {st.snd}" if with_ack else ""
        outcome = ("enter CLOSED and delete the TCB (no error to the user)" if closes_quietly
                   else "the connection is reset: CLOSED, the user sees \"connection reset\"")
        rule = ("RFC 9293 3.10.7.4 first step: an out-of-window RST is dropped silently.\n"
                "Second step with RFC 5961 3.2: a RST in the window but not at RCV.NXT gets a\n"
                f"challenge ACK; a RST exactly at RCV.NXT resets: {outcome}.")
        body = "// Out of window: dropped, nothing sent.\n"
        body += f" +.01 < {flags} {FAR}:{FAR}(0){ack} win 10000\n" + assert_state(st.linux)
        body += "// In window, not at RCV.NXT: challenge ACK.\n"
        body += f" +.01 < {flags} {st.rcv + 100}:{st.rcv + 100}(0){ack} win 10000\n"
        body += ack_line.format(r=st.rcv) + assert_state(st.linux)
        body += "// At RCV.NXT: reset.\n"
        body += f" +.01 < {flags} {st.rcv}:{st.rcv}(0){ack} win 10000\n"
        body += assert_state("TCP_CLOSE")
        if not closes_quietly:
            body += "   +0 read(4, ..., 100) = -1 ECONNRESET (Connection reset by peer)\n"
        write(st.name, seg, header(st.name, seg, st.how, rule) + st.preamble
              + assert_state(st.linux) + body)

    # FIN without ACK: dropped at the fifth step ("if the ACK bit is off drop the segment").
    rule = OOW_RULE + ("\nRFC 9293 3.10.7.4 fifth step: \"if the ACK bit is off, drop the "
                       "segment and\nreturn\": an in-window FIN without ACK changes nothing.")
    body = out_of_window("F", False)
    body += "// In window, no ACK bit: dropped, nothing sent.\n"
    body += f" +.01 < F {st.rcv}:{st.rcv}(0) win 10000\n" + assert_state(st.linux)
    write(st.name, "fin", header(st.name, "fin", st.how, rule) + st.preamble
          + assert_state(st.linux) + body)

    sync_finack(st, ack_line, out_of_window)
    sync_ack(st, ack_line, out_of_window)
    sync_data(st, ack_line, out_of_window)


def sync_finack(st: Sync, ack_line: str, out_of_window: object) -> None:
    assert callable(out_of_window)
    body = out_of_window("F.", True)
    if st.name in ("ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2"):
        after = {"ESTABLISHED": "TCP_CLOSE_WAIT", "FIN-WAIT-1": "TCP_TIME_WAIT",
                 "FIN-WAIT-2": "TCP_TIME_WAIT"}[st.name]
        what = {"ESTABLISHED": "enter CLOSE-WAIT",
                "FIN-WAIT-1": "our FIN is acknowledged in the same segment, so enter\n"
                              "TIME-WAIT (\"If our FIN has been ACKed (perhaps in this "
                              "segment)\")",
                "FIN-WAIT-2": "enter TIME-WAIT, start the time-wait timer"}[st.name]
        rule = OOW_RULE + ("\nRFC 9293 3.10.7.4 eighth step: advance RCV.NXT over the FIN, "
                           f"ACK it, and\n{what}.")
        body += "// In window: FIN processed and acknowledged.\n"
        body += f" +.01 < F. {st.rcv}:{st.rcv}(0) ack {st.snd} win 10000\n"
        body += ack_line.format(r=st.rcv + 1) + assert_state(after)
        body += "   +0 read(4, ..., 100) = 0\n"
    elif st.name == "CLOSE-WAIT":
        rule = ("RFC 9293 3.10.7.4 first step: the peer's FIN retransmitted (it is below "
                "RCV.NXT,\nso not acceptable) and a far out-of-window FIN are both answered "
                "with an ACK;\nthe state stays CLOSE-WAIT (eighth step: \"Remain in the "
                "CLOSE-WAIT state\").")
        body += "// The peer's FIN again (a retransmission): ACK, remain in CLOSE-WAIT.\n"
        body += f" +.01 < F. {st.rcv - 1}:{st.rcv - 1}(0) ack {st.snd} win 10000\n"
        body += ack_line.format(r=st.rcv) + assert_state(st.linux)
    elif st.name == "CLOSING":
        rule = ("RFC 9293 3.10.7.4 first step: a retransmitted or out-of-window FIN is "
                "answered\nwith an ACK. Fifth step, CLOSING: a segment acknowledging our FIN "
                "enters TIME-WAIT\n(the retransmitted FIN, below RCV.NXT, is dropped at the "
                "first step instead).")
        body += "// The peer's FIN retransmitted, now acknowledging ours: first-step ACK.\n"
        body += f" +.01 < F. {st.rcv - 1}:{st.rcv - 1}(0) ack {st.snd} win 10000\n"
        body += ack_line.format(r=st.rcv) + assert_state(st.linux)
        body += "// Then its ACK of our FIN: TIME-WAIT.\n"
        body += f" +.01 < . {st.rcv}:{st.rcv}(0) ack {st.snd} win 10000\n"
        body += assert_state("TCP_TIME_WAIT")
    else:  # LAST-ACK
        rule = ("RFC 9293 3.10.7.4 first step: a retransmitted or out-of-window FIN is "
                "answered\nwith an ACK. Fifth step, LAST-ACK: once our FIN is acknowledged, "
                "delete the TCB,\nenter CLOSED.")
        body += "// The peer's FIN retransmitted (below RCV.NXT): ACK, stay in LAST-ACK.\n"
        body += f" +.01 < F. {st.rcv - 1}:{st.rcv - 1}(0) ack {st.una} win 10000\n"
        body += ack_line.format(r=st.rcv) + assert_state(st.linux)
        body += "// In window, acknowledging our FIN: CLOSED, nothing sent.\n"
        body += f" +.01 < F. {st.rcv}:{st.rcv}(0) ack {st.snd} win 10000\n"
        body += assert_state("TCP_CLOSE")
    write(st.name, "finack", header(st.name, "finack", st.how, rule) + st.preamble
          + assert_state(st.linux) + body)


def sync_ack(st: Sync, ack_line: str, out_of_window: object) -> None:
    assert callable(out_of_window)
    body = out_of_window(".", True)
    body += "// In window but acknowledging data never sent: ACK, drop (fifth step).\n"
    body += f" +.01 < . {st.rcv}:{st.rcv}(0) ack {st.snd + 1000} win 10000\n"
    body += ack_line.format(r=st.rcv) + assert_state(st.linux)
    after = {"FIN-WAIT-1": "TCP_FIN_WAIT2", "CLOSING": "TCP_TIME_WAIT",
             "LAST-ACK": "TCP_CLOSE"}.get(st.name, st.linux)
    moves = {"FIN-WAIT-1": "the ACK of our FIN enters FIN-WAIT-2",
             "CLOSING": "the ACK of our FIN enters TIME-WAIT",
             "LAST-ACK": "the ACK of our FIN deletes the TCB (CLOSED)"}.get(
        st.name, "an acceptable ACK with nothing new changes nothing")
    rule = OOW_RULE + ("\nRFC 9293 3.10.7.4 fifth step: an ACK of something not yet sent "
                       "(SEG.ACK > SND.NXT)\nis answered with an ACK and dropped; otherwise "
                       f"{moves}.")
    body += "// In window, acceptable ACK.\n"
    body += f" +.01 < . {st.rcv}:{st.rcv}(0) ack {st.snd} win 10000\n" + assert_state(after)
    write(st.name, "ack", header(st.name, "ack", st.how, rule) + st.preamble
          + assert_state(st.linux) + body)


def sync_data(st: Sync, ack_line: str, out_of_window: object) -> None:
    assert callable(out_of_window)
    body = out_of_window("P.", True, 10)
    if st.name in ("ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2"):
        after = "TCP_FIN_WAIT2" if st.name == "FIN-WAIT-1" else st.linux
        rule = OOW_RULE + ("\nRFC 9293 3.10.7.4 seventh step: in ESTABLISHED, FIN-WAIT-1 and "
                           "FIN-WAIT-2 the\ntext is delivered and acknowledged "
                           "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.")
        body += "// In window: delivered and acknowledged.\n"
        body += f" +.01 < P. {st.rcv}:{st.rcv + 10}(10) ack {st.snd} win 10000\n"
        body += ack_line.format(r=st.rcv + 10) + assert_state(after)
        body += "   +0 read(4, ..., 100) = 10\n"
    else:
        after = {"CLOSING": "TCP_TIME_WAIT", "LAST-ACK": "TCP_CLOSE"}.get(st.name, st.linux)
        rule = OOW_RULE + ("\nRFC 9293 3.10.7.4 seventh step: in CLOSE-WAIT, CLOSING and "
                           "LAST-ACK \"This should\nnot occur since a FIN has been received "
                           "from the remote side. Ignore the segment\ntext.\" Its ACK field "
                           "is still processed (fifth step).")
        body += "// In window: the text is ignored (nothing sent); its ACK is processed.\n"
        body += f" +.01 < P. {st.rcv}:{st.rcv + 10}(10) ack {st.snd} win 10000\n"
        body += assert_state(after)
    write(st.name, "data", header(st.name, "data", st.how, rule) + st.preamble
          + assert_state(st.linux) + body)


# -- CLOSED (RFC 9293 3.10.7.1) -----------------------------------------------------------------

CLOSED_CASES = {
    "syn": ("< S 0:0(0) win 10000", "> R. 0:0(0) ack 1"),
    "synack": ("< S. 0:0(0) ack 1000 win 10000", "> R 1000:1000(0)"),
    "rst": ("< R 0:0(0) win 10000", None),
    "rstack": ("< R. 0:0(0) ack 1000 win 10000", None),
    "fin": ("< F 0:0(0) win 10000", "> R. 0:0(0) ack 1"),
    "finack": ("< F. 0:0(0) ack 1000 win 10000", "> R 1000:1000(0)"),
    "ack": ("< . 0:0(0) ack 1000 win 10000", "> R 1000:1000(0)"),
    "data": ("< P. 0:10(10) ack 1000 win 10000", "> R 1000:1000(0)"),
}


def closed_scripts() -> None:
    rule = ("RFC 9293 3.10.7.1 (CLOSED: no TCB, here no socket on the port at all): all data "
            "is\ndiscarded; an incoming RST is discarded; otherwise a RST is sent: if the ACK "
            "bit is\noff <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, if it is on "
            "<SEQ=SEG.ACK><CTL=RST>.\nThere is no window in CLOSED: the same rule holds for "
            "every sequence number.")
    for seg, (inbound, reply) in CLOSED_CASES.items():
        body = "    0 %{ assert tcpi_state == TCP_CLOSE }%\n"
        body += f"   +0 {inbound}\n"
        if reply:
            body += f"   +0 {reply}\n"
        far = inbound.replace(" 0:0(0)", f" {FAR}:{FAR}(0)").replace(
            " 0:10(10)", f" {FAR}:{FAR + 10}(10)")
        body += "// Any other sequence number: the same answer.\n"
        body += f" +.01 {far}\n"
        if reply:
            if "R." in reply:
                # A new SYN starts a new peer ISN (packetdrill numbers it afresh).
                reply = "> R. 0:0(0) ack 1" if seg == "syn" else f"> R. 0:0(0) ack {FAR + 1}"
            body += f"   +0 {reply}\n"
        if seg == "data":
            body += "// Data without the ACK bit: RST,ACK acknowledging SEG.SEQ+SEG.LEN.\n"
            body += " +.01 < P 0:10(10) win 10000\n   +0 > R. 0:0(0) ack 10\n"
        body += "   +0 %{ assert tcpi_state == TCP_CLOSE }%\n"
        write("CLOSED", seg, header("CLOSED", seg, "no socket listens on port 8080", rule)
              + body)


# -- LISTEN (RFC 9293 3.10.7.2) -----------------------------------------------------------------

def listen_scripts() -> None:
    how = "socket(), bind(), listen()"
    base = SERVER + assert_state("TCP_LISTEN")
    cases = {
        "syn": ("a SYN: choose ISS, send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, enter SYN-RECEIVED",
                "< S 0:0(0) win 10000 <mss 1000>", "> S. 0:0(0) ack 1 <mss 1460>",
                "TCP_SYN_RECV"),
        "synack": ("second check: any ACK (here on a SYN) is bad: <SEQ=SEG.ACK><CTL=RST>",
                   "< S. 0:0(0) ack 1000 win 10000", "> R 1000:1000(0)", "TCP_LISTEN"),
        "rst": ("first check: an incoming RST is ignored", "< R 0:0(0) win 10000", None,
                "TCP_LISTEN"),
        "rstack": ("first check: an incoming RST is ignored (before the ACK check)",
                   "< R. 0:0(0) ack 1000 win 10000", None, "TCP_LISTEN"),
        "fin": ("fourth: \"Any other control or text-bearing segment (not containing SYN) "
                "must have\nan ACK and thus would have been discarded by the ACK processing\": "
                "dropped", "< F 0:0(0) win 10000", None, "TCP_LISTEN"),
        "finack": ("second check: an ACK in LISTEN gets <SEQ=SEG.ACK><CTL=RST>",
                   "< F. 0:0(0) ack 1000 win 10000", "> R 1000:1000(0)", "TCP_LISTEN"),
        "ack": ("second check: an ACK in LISTEN gets <SEQ=SEG.ACK><CTL=RST>",
                "< . 0:0(0) ack 1000 win 10000", "> R 1000:1000(0)", "TCP_LISTEN"),
        "data": ("second check: an ACK in LISTEN gets <SEQ=SEG.ACK><CTL=RST>; data without "
                 "ACK is\ndropped (fourth)", "< P. 0:10(10) ack 1000 win 10000",
                 "> R 1000:1000(0)", "TCP_LISTEN"),
    }
    for seg, (what, inbound, reply, after) in cases.items():
        rule = (f"RFC 9293 3.10.7.2 (LISTEN): {what}.\nLISTEN has no receive window yet: "
                "the sequence number does not matter.")
        body = f" +.01 {inbound}\n" + (f"   +0 {reply}\n" if reply else "")
        body += assert_state(after)
        if seg == "data":
            body += " +.01 < P 0:10(10) win 10000\n" + assert_state("TCP_LISTEN")
        elif seg != "syn":
            far = inbound.replace(" 0:0(0)", f" {FAR}:{FAR}(0)")
            body += "// Another sequence number: the same.\n"
            body += f" +.01 {far}\n" + (f"   +0 {reply}\n" if reply else "")
            body += assert_state(after)
        else:
            body += "// The handshake completes; the listener goes on listening.\n"
            body += ESTABLISH + assert_state("TCP_ESTABLISHED")
        write("LISTEN", seg, header("LISTEN", seg, how, rule) + base + body)


# -- SYN-SENT (RFC 9293 3.10.7.3) ---------------------------------------------------------------

def syn_sent_scripts() -> None:
    how = "a non-blocking connect() (client role); our ISS is 0, SND.NXT 1"
    base = CLIENT + assert_state("TCP_SYN_SENT")
    first = ("RFC 9293 3.10.7.3 (SYN-SENT) first check: if the ACK bit is set and "
             "SEG.ACK =< ISS or\nSEG.ACK > SND.NXT, send <SEQ=SEG.ACK><CTL=RST> (unless the "
             "RST bit is set) and drop.\nHere \"out of window\" is an unacceptable ACK.")
    bad = "// Unacceptable ACK (SEG.ACK > SND.NXT): RST <SEQ=SEG.ACK>, stay in SYN-SENT.\n"
    cases: dict[str, tuple[str, str]] = {
        "syn": ("Fourth check: a SYN without ACK is a simultaneous open: enter SYN-RECEIVED "
                "and send\n<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.",
                " +.01 < S 0:0(0) win 10000 <mss 1000>\n   +0 > S. 0:0(0) ack 1 <...>\n"
                + assert_state("TCP_SYN_RECV")
                + " +.01 < . 1:1(0) ack 1 win 10000\n" + assert_state("TCP_ESTABLISHED")),
        "synack": ("Fourth check: an acceptable SYN,ACK: RCV.NXT = SEG.SEQ+1, SND.UNA = "
                   "SEG.ACK, enter\nESTABLISHED and send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.",
                   bad + " +.01 < S. 0:0(0) ack 5 win 10000 <mss 1000>\n   +0 > R 5:5(0)\n"
                   + assert_state("TCP_SYN_SENT")
                   + "// SEG.ACK = ISS is unacceptable too.\n"
                   + " +.01 < S. 0:0(0) ack 0 win 10000 <mss 1000>\n   +0 > R 0:0(0)\n"
                   + assert_state("TCP_SYN_SENT")
                   + "// Acceptable: ESTABLISHED.\n"
                   + " +.01 < S. 0:0(0) ack 1 win 10000 <mss 1000>\n   +0 > . 1:1(0) ack 1\n"
                   + assert_state("TCP_ESTABLISHED")
                   + "   +0 connect(3, ..., ...) = 0\n"),
        "rst": ("Second check: a RST without ACK is dropped (\"If the ACK was acceptable ..., "
                "otherwise\ndrop the segment\").",
                " +.01 < R 0:0(0) win 10000\n" + assert_state("TCP_SYN_SENT")),
        "rstack": ("Second check: a RST with an acceptable ACK: \"signal to the user 'error: "
                   "connection\nreset', drop the segment, enter CLOSED\" (ECONNREFUSED); with "
                   "an unacceptable ACK it\nis dropped (first check, no RST for a RST).",
                   "// Unacceptable ACK: dropped, nothing sent.\n"
                   " +.01 < R. 0:0(0) ack 5 win 10000\n" + assert_state("TCP_SYN_SENT")
                   + "// Acceptable ACK: refused.\n"
                   + " +.01 < R. 0:0(0) ack 1 win 10000\n" + assert_state("TCP_CLOSE")
                   + "   +0 connect(3, ..., ...) = -1 ECONNREFUSED (Connection refused)\n"),
        "fin": ("Fifth check: \"If neither of the SYN or RST bits is set, then drop the "
                "segment and\nreturn\".", " +.01 < F 0:0(0) win 10000\n"
                + assert_state("TCP_SYN_SENT")),
        "finack": ("First check for the unacceptable ACK; fifth check (no SYN, no RST): an "
                   "acceptable\nFIN,ACK is dropped.",
                   bad + " +.01 < F. 0:0(0) ack 5 win 10000\n   +0 > R 5:5(0)\n"
                   + assert_state("TCP_SYN_SENT") + "// Acceptable ACK: dropped.\n"
                   + " +.01 < F. 0:0(0) ack 1 win 10000\n" + assert_state("TCP_SYN_SENT")),
        "ack": ("First check for the unacceptable ACK; fifth check (no SYN, no RST): an "
                "acceptable\nACK alone is dropped.",
                bad + " +.01 < . 0:0(0) ack 5 win 10000\n   +0 > R 5:5(0)\n"
                + assert_state("TCP_SYN_SENT") + "// Acceptable ACK: dropped.\n"
                + " +.01 < . 0:0(0) ack 1 win 10000\n" + assert_state("TCP_SYN_SENT")),
        "data": ("First check for the unacceptable ACK; fifth check (no SYN, no RST): data "
                 "with an\nacceptable ACK is dropped.",
                 bad + " +.01 < P. 0:10(10) ack 5 win 10000\n   +0 > R 5:5(0)\n"
                 + assert_state("TCP_SYN_SENT") + "// Acceptable ACK: dropped.\n"
                 + " +.01 < P. 0:10(10) ack 1 win 10000\n" + assert_state("TCP_SYN_SENT")),
    }
    for seg, (rule, body) in cases.items():
        write("SYN-SENT", seg, header("SYN-SENT", seg, how, first + "\n" + rule) + base + body)


# -- SYN-RECEIVED (RFC 9293 3.10.7.4, passive OPEN) ----------------------------------------------

def syn_received_scripts() -> None:
    how = "a SYN to a listener, answered with SYN,ACK (server role, passive OPEN)"
    base = SERVER + HANDSHAKE + assert_state("TCP_SYN_RECV")
    ack1 = "   +0 > . 1:1(0) ack 1\n"
    def oow_text(flags: str, ack: str) -> str:
        return ("// Out of window: ACK, dropped (first step).\n"
                f" +.01 < {flags} {FAR}:{FAR}(0){ack} win 10000\n" + ack1
                + assert_state("TCP_SYN_RECV"))
    back = ("// In window: \"If the connection was initiated with a passive OPEN, then "
            "return this\n// connection to the LISTEN state\": nothing is sent.\n")
    cases: dict[str, tuple[str, str]] = {
        "syn": ("Fourth step: a SYN in the window returns a passively opened connection to "
                "LISTEN.\nA retransmission of the original SYN is answered by sending the "
                "SYN,ACK again\n(as Linux; RFC 9293 would send an ACK, see docs/deviations.md).",
                oow_text("S", "")
                + "// The original SYN again: SYN,ACK again.\n"
                + " +.01 < S 0:0(0) win 10000 <mss 1000>\n   +0 > S. 0:0(0) ack 1 <mss 1460>\n"
                + back + " +.01 < S 5:5(0) win 10000\n" + assert_state("TCP_LISTEN")
                + "// The listener still answers an ACK with a RST (LISTEN rule).\n"
                + " +.01 < . 1:1(0) ack 1 win 10000\n   +0 > R 1:1(0)\n"),
        "synack": ("Fourth step: a SYN (here SYN,ACK) in the window returns a passively "
                   "opened connection\nto LISTEN.",
                   oow_text("S.", " ack 1") + back
                   + " +.01 < S. 5:5(0) ack 1 win 10000\n" + assert_state("TCP_LISTEN")),
        "rst": ("Second step: an out-of-window RST is dropped; in the window but not at "
                "RCV.NXT it gets\na challenge ACK (RFC 5961 3.2); at RCV.NXT a passively "
                "opened connection returns\nto LISTEN.",
                " +.01 < R " + f"{FAR}:{FAR}(0)" + " win 10000\n" + assert_state("TCP_SYN_RECV")
                + " +.01 < R 101:101(0) win 10000\n" + ack1 + assert_state("TCP_SYN_RECV")
                + " +.01 < R 1:1(0) win 10000\n" + assert_state("TCP_LISTEN")),
        "rstack": ("Second step as for RST: out of window dropped, in window challenge ACK, "
                   "at RCV.NXT\nback to LISTEN.",
                   " +.01 < R. " + f"{FAR}:{FAR}(0)" + " ack 1 win 10000\n"
                   + assert_state("TCP_SYN_RECV") + " +.01 < R. 101:101(0) ack 1 win 10000\n"
                   + ack1 + assert_state("TCP_SYN_RECV") + " +.01 < R. 1:1(0) ack 1 win 10000\n"
                   + assert_state("TCP_LISTEN")),
        "fin": ("Fifth step: \"if the ACK bit is off, drop the segment and return\".",
                oow_text("F", "") + "// In window, no ACK: dropped.\n"
                + " +.01 < F 1:1(0) win 10000\n" + assert_state("TCP_SYN_RECV")),
        "finack": ("Fifth step: an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST>; an "
                   "acceptable one enters\nESTABLISHED, then the eighth step takes the FIN: "
                   "CLOSE-WAIT, ACK.",
                   oow_text("F.", " ack 1")
                   + "// Unacceptable ACK: RST.\n + .01 < F. 1:1(0) ack 5 win 10000\n"
                   .replace(" + .01", " +.01")
                   + "   +0 > R 5:5(0)\n" + assert_state("TCP_SYN_RECV")
                   + " +.01 < F. 1:1(0) ack 1 win 10000\n   +0 > . 1:1(0) ack 2\n"
                   + assert_state("TCP_CLOSE_WAIT")),
        "ack": ("Fifth step: an acceptable ACK (SND.UNA < SEG.ACK =< SND.NXT) enters "
                "ESTABLISHED; an\nunacceptable one gets <SEQ=SEG.ACK><CTL=RST>.",
                oow_text(".", " ack 1")
                + "// Unacceptable ACK: RST.\n + .01 < . 1:1(0) ack 5 win 10000\n"
                .replace(" + .01", " +.01")
                + "   +0 > R 5:5(0)\n" + assert_state("TCP_SYN_RECV")
                + " +.01 < . 1:1(0) ack 1 win 10000\n" + assert_state("TCP_ESTABLISHED")
                + "   +0 accept(3, ..., ...) = 4\n"),
        "data": ("Fifth step: the acceptable ACK enters ESTABLISHED; seventh step: the text "
                 "is delivered\nand acknowledged.",
                 oow_text("P.", " ack 1").replace(f"{FAR}(0)", f"{FAR + 10}(10)")
                 .replace(f"{FAR}:{FAR}", f"{FAR}:{FAR + 10}")
                 + " +.01 < P. 1:11(10) ack 1 win 10000\n   +0 > . 1:1(0) ack 11\n"
                 + assert_state("TCP_ESTABLISHED") + "   +0 accept(3, ..., ...) = 4\n"
                 + "   +0 read(4, ..., 100) = 10\n"),
    }
    for seg, (rule, body) in cases.items():
        text = ("RFC 9293 3.10.7.4 (SYN-RECEIVED) first step: an unacceptable segment is "
                "answered with\n<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> unless it is a RST.\n"
                + rule)
        write("SYN-RECEIVED", seg, header("SYN-RECEIVED", seg, how, text) + base + body)


# -- TIME-WAIT ----------------------------------------------------------------------------------

def time_wait_scripts() -> None:
    st = SYNC_STATES[2]  # FIN-WAIT-2, then the peer's FIN
    how = "our FIN acknowledged (FIN-WAIT-2), then the peer's FIN"
    base = (st.preamble + " +.01 < F. 1:1(0) ack 2 win 10000\n   +0 > . 2:2(0) ack 2\n"
            + assert_state("TCP_TIME_WAIT"))
    ack = "   +0 > . 2:2(0) ack 2\n"
    tw = assert_state("TCP_TIME_WAIT")
    def oow_text(flags: str, ack_field: str) -> str:
        return ("// Out of window: ACK, dropped (first step).\n"
                f" +.01 < {flags} {FAR}:{FAR}(0){ack_field} win 10000\n" + ack + tw)
    cases: dict[str, tuple[str, str]] = {
        "syn": ("RFC 9293 3.10.7.4 fourth step with RFC 5961 section 4: a SYN in TIME-WAIT "
                "gets a\nchallenge ACK and the TIME-WAIT state stays. (Accepting it as a new "
                "connection,\nas Linux does for a higher sequence number, is optional: "
                "RFC 6191.)",
                " +.01 < S " + f"{FAR}:{FAR}(0)" + " win 10000 <mss 1000>\n" + ack + tw
                + " +.01 < S 5:5(0) win 10000 <mss 1000>\n" + ack + tw),
        "synack": ("RFC 5961 section 4: a SYN,ACK in TIME-WAIT gets a challenge ACK.",
                   " +.01 < S. " + f"{FAR}:{FAR}(0)" + " ack 2 win 10000\n" + ack + tw
                   + " +.01 < S. 5:5(0) ack 2 win 10000\n" + ack + tw),
        "rst": ("RFC 1337 section 3 (fix F1, TIME-WAIT assassination): a RST in TIME-WAIT "
                "is ignored,\nin window or not (RFC 9293 3.10.7.4 second step would close; "
                "see docs/deviations.md).",
                " +.01 < R " + f"{FAR}:{FAR}(0)" + " win 10000\n" + tw
                + " +.01 < R 2:2(0) win 10000\n" + tw),
        "rstack": ("RFC 1337 section 3: a RST,ACK in TIME-WAIT is ignored too.",
                   " +.01 < R. " + f"{FAR}:{FAR}(0)" + " ack 2 win 10000\n" + tw
                   + " +.01 < R. 2:2(0) ack 2 win 10000\n" + tw),
        "fin": ("RFC 9293 3.10.7.4 first step for the out-of-window FIN; the peer's FIN "
                "retransmitted\n(without ACK bit) is acknowledged again (eighth step, "
                "TIME-WAIT: restart the 2MSL\ntimeout).",
                oow_text("F", "") + "// The retransmitted FIN: re-ACK.\n"
                + " +.01 < F 1:1(0) win 10000\n" + ack + tw),
        "finack": ("RFC 9293 3.10.7.4 eighth step, TIME-WAIT: \"Remain in the TIME-WAIT "
                   "state. Restart the\n2 MSL time-wait timeout.\": the retransmitted FIN is "
                   "acknowledged again.",
                   oow_text("F.", " ack 2")
                   + " +.01 < F. 1:1(0) ack 2 win 10000\n" + ack + tw
                   + "+59.9 %{ assert tcpi_state == TCP_TIME_WAIT }%\n"
                   + "  +.2 %{ assert tcpi_state == TCP_CLOSE }%\n"),
        "ack": ("RFC 9293 3.10.7.4 first step for the out-of-window ACK; an in-window ACK "
                "with nothing\nnew is dropped (nothing sent, TIME-WAIT stays).",
                oow_text(".", " ack 2") + " +.01 < . 2:2(0) ack 2 win 10000\n" + tw),
        "data": ("RFC 9293 3.10.7.4 first step for out-of-window data; seventh step, "
                 "TIME-WAIT: \"This\nshould not occur ... Ignore the segment text.\"",
                 oow_text("P.", " ack 2").replace(f"{FAR}:{FAR}(0)",
                                                             f"{FAR}:{FAR + 10}(10)")
                 + " +.01 < P. 2:12(10) ack 2 win 10000\n" + tw),
    }
    for seg, (rule, body) in cases.items():
        write("TIME-WAIT", seg, header("TIME-WAIT", seg, how, rule) + base + body)


if __name__ == "__main__":
    closed_scripts()
    listen_scripts()
    syn_sent_scripts()
    syn_received_scripts()
    for sync_state in SYNC_STATES:
        sync_scripts(sync_state)
    time_wait_scripts()
    print(f"wrote {len(list(OUT.rglob('*.pkt')))} scripts under {OUT}")
