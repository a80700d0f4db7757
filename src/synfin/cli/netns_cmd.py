"""``synfin netns up NAME`` / ``down NAME``: a network namespace ready for ``synfin serve``.

``up`` creates the namespace NAME holding

* a persistent TUN device (default ``synfin0``) whose kernel side has ``SUBNET.1`` and is up,
  for synfin to answer as ``SUBNET.2``;
* a veth link to the namespace that ran the command (or ``--peer-netns``): ``LINK.1`` on the
  outside end, ``LINK.2`` inside, a route to SUBNET via the link outside, forwarding inside,

so that ``curl http://SUBNET.2/`` from outside reaches synfin. ``--isolated`` leaves the veth
link out. It prints the commands to use it. ``down`` deletes the namespace and everything in
it (the veth pair and the outside route go with it).
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from synfin.cli.args import Parser, UsageError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
DEV_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
INNER_VETH = "veth0"


def add_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("netns", help="create or remove a namespace with a TUN device for synfin")
    nsub = p.add_subparsers(dest="action", required=True, metavar="{up,down}")
    up = nsub.add_parser("up", help="create namespace NAME with a TUN device and addresses")
    up.add_argument("name", metavar="NAME")
    up.add_argument("--tun", metavar="DEV", default="synfin0", help="TUN device (synfin0)")
    up.add_argument("--subnet", default="10.77.0.0/24", type=_network,
                    help="the TUN's subnet: kernel side .1, synfin .2 (10.77.0.0/24)")
    up.add_argument("--link", default="10.76.0.0/30", type=_network,
                    help="the veth link's subnet: outside .1, inside .2 (10.76.0.0/30)")
    up.add_argument("--mtu", type=int, default=1500, help="TUN MTU, 576-65535 (1500)")
    up.add_argument("--peer-netns", metavar="NS",
                    help="put the outer veth end into namespace NS instead of this one")
    up.add_argument("--isolated", action="store_true", help="no veth link to the outside")
    down = nsub.add_parser("down", help="delete namespace NAME")
    down.add_argument("name", metavar="NAME")


def _network(text: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an IPv4 subnet: {text!r} ({exc})") from None
    if net.num_addresses < 4:
        raise argparse.ArgumentTypeError(f"subnet {text} is too small (at least a /30)")
    return net


@dataclass(frozen=True, slots=True)
class Plan:
    """Names and addresses of one namespace set-up."""

    name: str
    tun: str
    subnet: ipaddress.IPv4Network
    link: ipaddress.IPv4Network
    mtu: int
    peer_netns: str | None
    isolated: bool

    @property
    def kernel_ip(self) -> str:
        return str(self.subnet.network_address + 1)

    @property
    def synfin_ip(self) -> str:
        return str(self.subnet.network_address + 2)

    @property
    def outer_ip(self) -> str:
        return str(self.link.network_address + 1)

    @property
    def inner_ip(self) -> str:
        return str(self.link.network_address + 2)

    @property
    def outer_veth(self) -> str:
        return outer_veth_name(self.name)


def outer_veth_name(name: str) -> str:
    """The outside end of the veth pair: ``sfv-`` and the namespace name, at most 15 chars."""
    return f"sfv-{name}"[:15]


def run(args: argparse.Namespace) -> int:
    if not NAME_RE.match(args.name):
        raise UsageError(f"bad namespace name {args.name!r}")
    if shutil.which("ip") is None:
        raise UsageError("the 'ip' command (iproute2) is needed")
    if args.action == "down":
        return down(args.name)
    if not DEV_RE.match(args.tun):
        raise UsageError(f"bad device name {args.tun!r}")
    if not 576 <= args.mtu <= 65535:
        raise UsageError(f"--mtu must be 576-65535, not {args.mtu}")
    plan = Plan(args.name, args.tun, args.subnet, args.link, args.mtu, args.peer_netns,
                args.isolated)
    if not plan.isolated and plan.subnet.overlaps(plan.link):
        raise UsageError(f"--subnet {plan.subnet} overlaps --link {plan.link}")
    up(plan)
    print(instructions(plan), end="")
    return 0


def _ip(*argv: str, netns: str | None = None) -> list[str]:
    return ["ip", *(["-n", netns] if netns else []), *argv]


def _run(cmd: Sequence[str]) -> None:
    result = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise UsageError(f"{' '.join(cmd)}: {detail[-1] if detail else 'failed'}")


def namespaces() -> set[str]:
    result = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                            check=False)
    return {line.split()[0] for line in result.stdout.splitlines() if line.strip()}


def up(plan: Plan) -> None:
    """Create everything, or nothing: on a failure what was made is removed again."""
    if plan.name in namespaces():
        raise UsageError(f"namespace {plan.name} already exists ('synfin netns down "
                         f"{plan.name}' removes it)")
    if plan.peer_netns is not None and plan.peer_netns not in namespaces():
        raise UsageError(f"no namespace {plan.peer_netns}")
    _run(["ip", "netns", "add", plan.name])
    try:
        _inside(plan)
        if not plan.isolated:
            _link(plan)
    except BaseException:
        subprocess.run(_ip("link", "del", plan.outer_veth, netns=plan.peer_netns),
                       capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", plan.name], capture_output=True, check=False)
        raise


def _inside(plan: Plan) -> None:
    ns = plan.name
    _run(_ip("link", "set", "lo", "up", netns=ns))
    _run(_ip("tuntap", "add", "dev", plan.tun, "mode", "tun", netns=ns))
    _run(_ip("link", "set", plan.tun, "mtu", str(plan.mtu), netns=ns))
    _run(_ip("addr", "add", f"{plan.kernel_ip}/{plan.subnet.prefixlen}", "dev", plan.tun,
             netns=ns))
    _run(_ip("link", "set", plan.tun, "up", netns=ns))


def _link(plan: Plan) -> None:
    ns, outer = plan.name, plan.peer_netns
    _run(_ip("link", "add", plan.outer_veth, "type", "veth", "peer", "name", INNER_VETH,
             "netns", ns, netns=outer))
    _run(_ip("addr", "add", f"{plan.outer_ip}/{plan.link.prefixlen}", "dev", plan.outer_veth,
             netns=outer))
    _run(_ip("link", "set", plan.outer_veth, "up", netns=outer))
    _run(_ip("route", "add", str(plan.subnet), "via", plan.inner_ip, netns=outer))
    _run(_ip("addr", "add", f"{plan.inner_ip}/{plan.link.prefixlen}", "dev", INNER_VETH,
             netns=ns))
    _run(_ip("link", "set", INNER_VETH, "up", netns=ns))
    _run(_ip("route", "add", "default", "via", plan.outer_ip, netns=ns))
    _run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"])


def down(name: str) -> int:
    if name not in namespaces():
        raise UsageError(f"no namespace {name}")
    _run(["ip", "netns", "del", name])
    print(f"namespace {name} removed")
    return 0


def instructions(plan: Plan) -> str:
    ns, synfin = plan.name, plan.synfin_ip
    prog = "synfin" if shutil.which("synfin") else f"{sys.executable} -m synfin.cli"
    lines = [
        f"namespace {ns} is up",
        f"  TUN {plan.tun} (in {ns}): kernel side {plan.kernel_ip}/{plan.subnet.prefixlen}, "
        f"MTU {plan.mtu}; synfin answers as {synfin}",
    ]
    where = f"namespace {plan.peer_netns}" if plan.peer_netns else "this namespace"
    if not plan.isolated:
        lines.append(f"  veth {plan.outer_veth} {plan.outer_ip} ({where}) <-> {INNER_VETH} "
                     f"{plan.inner_ip} (in {ns}); route {plan.subnet} via {plan.inner_ip}")
    lines += [
        "",
        "Start a synfin server in it (Ctrl-C stops it):",
        f"  ip netns exec {ns} {prog} serve http --tun {plan.tun} --addr {synfin} "
        f"--trace /tmp/{ns}.jsonl",
    ]
    run_in = "" if not plan.isolated and not plan.peer_netns else \
        f"ip netns exec {plan.peer_netns or ns} "
    lines += [
        "",
        "Talk to it:" if not plan.isolated else f"Talk to it from inside {ns}:",
        f"  {run_in}curl http://{synfin}/",
        f"  {run_in}nc {synfin} 7      # with: synfin serve echo ...",
        "Look at the connections it had:",
        f"  {prog} ss --trace /tmp/{ns}.jsonl --all",
        "Or run a synfin client against a server in the namespace:",
        f"  ip netns exec {ns} {prog} connect {plan.kernel_ip} PORT --tun {plan.tun} "
        f"--addr {synfin}",
        "",
        "Remove it:",
        f"  {prog} netns down {ns}",
    ]
    return "\n".join(lines) + "\n"
