"""The pages' accessibility in the browser tests: axe-core (Deque's rules, WCAG 2.1 AA) on what the page
shows now, and the page at 200 % zoom on a 1366-pixel screen without scrolling sideways."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.async_playwright import Axe

_AXE = Axe()
# What blocks: axe's "serious" and "critical" findings (contrast, names, labels, roles, focus).
BLOCKING = ("serious", "critical")


async def axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each: rule, nodes."""
    results = await _AXE.run(
        page, options={"resultTypes": ["violations"], "runOnly": ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"]}
    )
    found = []
    for v in results.response["violations"]:
        if v.get("impact") in BLOCKING:
            targets = [" ".join(map(str, n.get("target", []))) for n in v.get("nodes", [])][:5]
            found.append(f"{v['id']} ({v['impact']}): {v['help']} — {targets}")
    return found


async def assert_accessible(page: Any, where: str) -> None:
    found = await axe_violations(page)
    assert not found, f"{where}: " + "\n".join(found)


# 200 % zoom on a 1366×768 screen: the page lays out in half the CSS pixels.
ZOOMED = {"width": 683, "height": 384}


_WIDER = """() => [...document.querySelectorAll('body *')]
  .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().right > window.innerWidth + 1)
  .filter((e) => !e.closest('.scroll'))
  .slice(0, 8)
  .map((e) => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""


async def wider_than_the_window(page: Any) -> list[str]:
    """What sticks out past the window's right edge (empty: no sideways scrolling); a region that scrolls by
    itself (class "scroll", focusable) is allowed."""
    if await page.evaluate("document.documentElement.scrollWidth") <= await page.evaluate("window.innerWidth"):
        return []
    return list(await page.evaluate(_WIDER)) or ["the page is wider than the window"]
