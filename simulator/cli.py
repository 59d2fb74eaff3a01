"""`tuition demo` and `tuition simulate`."""

from __future__ import annotations

import argparse
import asyncio

from shared.logging import configure_logging


def _demo(args: argparse.Namespace) -> int:
    from simulator.demo import DemoConfig, run

    configure_logging("WARNING", json=False)
    asyncio.run(
        run(
            DemoConfig(
                prefix=args.prefix, port_base=args.port_base, rate=args.rate, wait=not args.no_wait, messages=True
            )
        )
    )
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from shared.settings import DEV_JWT_SECRET
    from simulator.demo import DemoConfig
    from simulator.payments import Simulator

    configure_logging("WARNING", json=False)
    stats = asyncio.run(
        Simulator(DemoConfig(port_base=args.port_base).urls(), DEV_JWT_SECRET, rate=args.rate, share=args.share).run(
            statements=not args.no_statements
        )
    )
    print(stats)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = sub.add_parser("demo", help="start everything, seed a district, simulate payments, show the dashboard")
    d.add_argument("--prefix", default="demo", help="names the demo's databases and topics")
    d.add_argument("--port-base", type=int, default=8100, help="services listen on base+1..base+4")
    d.add_argument("--rate", type=float, default=40.0, help="credits per second")
    d.add_argument("--no-wait", action="store_true", help="stop the services after the simulation")
    d.set_defaults(func=_demo)
    s = sub.add_parser("simulate", help="parents pay the open invoices of the demo district (a running demo)")
    s.add_argument("--port-base", type=int, default=8100)
    s.add_argument("--rate", type=float, default=40.0, help="credits per second (for load)")
    s.add_argument("--share", type=float, default=1.0, help="fraction of parents who pay")
    s.add_argument("--no-statements", action="store_true", help="no end-of-day statement")
    s.set_defaults(func=_simulate)
