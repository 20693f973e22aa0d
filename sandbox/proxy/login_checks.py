"""What the addon does with the agent's own login: the checks and swaps on one flow.

Kept apart from `sandbox.proxy.addon` (which calls these at its hooks) so that each
file keeps one job: the addon decides destinations, this handles login tokens.
"""

from __future__ import annotations

from mitmproxy import http

from sandbox.proxy.inspect import RequestView
from sandbox.proxy.logins import is_token_endpoint
from sandbox.proxy.rules import Decision
from sandbox.proxy.session import Outcome, SessionNet


def vendor_decision(session: SessionNet, host: str, decision: Decision) -> Decision:
    """An endpoint of the agent's own vendor, which no rule decides, is allowed without
    asking: only this session's tokens (or none) may be carried there (`check_login`)."""
    login = session.logins.vendor_at(host)
    if decision.action != "ask" or login is None:
        return decision
    return Decision(
        "allow", f"login:{login.vendor}", f"an endpoint of the agent's own vendor ({login.vendor})"
    )


def check_login(
    session: SessionNet, flow: http.HTTPFlow, host: str, view: RequestView
) -> Outcome | None:
    """The login's verdict on a complete request, or None when it has none to give.

    A token of the agent's login toward anything but its vendor's endpoints: refused,
    critical. On a vendor endpoint: any other credential refused, critical; otherwise
    allowed (by `login:VENDOR`) with the placeholders swapped for the real tokens.
    """
    logins = session.logins
    vendor = logins.stray(view, host)
    if vendor is not None:
        endpoints = ", ".join(logins.vendors[vendor].endpoints)
        why = f"the request carries the agent's {vendor} login, which may reach only {endpoints}"
        return Outcome("deny", "login", why, critical=True)
    login = logins.vendor_at(host)
    if login is None:
        return None
    if foreign := logins.foreign(view, login):
        why = f"{foreign} (to {login.vendor}'s {host})"
        return Outcome("deny", "credential", why, critical=True)
    placeholders = logins.placeholders(login.vendor)
    in_url = any(p in view.url for p in placeholders)  # `?key=` (Google's API keys)
    carried = (
        in_url
        or any(p in v for p in placeholders for _, v in view.headers)
        or any(p.encode() in view.body for p in placeholders)
    )
    if carried and flow.request.scheme != "https":
        return Outcome("deny", "login", f"the {login.vendor} login goes to {host} over HTTPS only")
    if in_url:
        flow.request.url = logins.swap_in(flow.request.url.encode(), login.vendor).decode()
    if carried:
        for name, value in list(flow.request.headers.items(multi=True)):  # type: ignore[no-untyped-call]
            swapped = logins.swap_in(value.encode(), login.vendor).decode()
            if swapped != value:
                flow.request.headers[name] = swapped
        content = flow.request.get_content(strict=False)
        if content:
            swapped_body = logins.swap_in(content, login.vendor)
            if swapped_body != content:
                flow.request.set_content(swapped_body)
    how = "with its login" if carried else "without a credential"
    return Outcome(
        "allow",
        "login",
        f"{login.vendor}'s own endpoint, {how}",
        rule=login.vendor,
    )


def keep_whole(session: SessionNet, flow: http.HTTPFlow, host: str) -> bool:
    """Is this the answer of a vendor's token endpoint (read whole, to swap its tokens)?"""
    # Read whole, never streamed, so that its tokens can be swapped for placeholders.
    return is_token_endpoint(flow.request.path) and session.logins.vendor_at(host) is not None


def swap_response(session: SessionNet, flow: http.HTTPFlow, host: str) -> None:
    """Fresh tokens from the vendor's token endpoint become placeholders on the way in."""
    login = session.logins.vendor_at(host)
    if login is None or flow.response is None or flow.response.stream:
        return
    if not is_token_endpoint(flow.request.path):
        return
    text = flow.response.get_text(strict=False)
    if not text:
        return
    shown = session.logins.swap_out(text, login.vendor)
    if shown is not None:
        flow.response.set_text(shown)
