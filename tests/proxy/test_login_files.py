"""The agents' login files shown with placeholders, and written back with real tokens.

The files are shaped like the real agents' own (Claude Code's `.credentials.json`,
Codex's `auth.json`, Gemini CLI's `oauth_creds.json`), written into tmp_path.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from sandbox.logins import open_views, restore_tokens, swap_tokens, sync_back


def jwt(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.REALSIGNATUREREALSIGNATURE0123456789"


CLAUDE = {
    "claudeAiOauth": {
        "accessToken": "sk-ant-oat01-REALACCESSREALACCESSREALACCESS",
        "refreshToken": "sk-ant-ort01-REALREFRESHREALREFRESHREALREFRESH",
        "expiresAt": 1764000000000,
        "scopes": ["user:inference", "user:profile"],
        "subscriptionType": "max",
    }
}
CODEX_ID = jwt({"email": "me@example.org", "https://api.openai.com/auth": {"plan": "plus"}})
CODEX = {
    "OPENAI_API_KEY": None,
    "tokens": {
        "id_token": CODEX_ID,
        "access_token": jwt({"sub": "user-1"}),
        "refresh_token": "rt_REALREFRESHREALREFRESHREALREFRESH",
        "account_id": "acct-1234",
    },
    "last_refresh": "2026-11-30T10:00:00Z",
}
GEMINI = {
    "access_token": "ya29.REALACCESSREALACCESSREALACCESS",
    "refresh_token": "1//REALREFRESHREALREFRESHREALREFRESH",
    "scope": "openid email",
    "token_type": "Bearer",
    "expiry_date": 1764000000000,
}


def write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    path.chmod(0o600)
    return path


def test_views_hold_placeholders_only_and_keep_the_rest(tmp_path: Path) -> None:
    home, session = tmp_path / "home", tmp_path / "session"
    session.mkdir()
    write(home / ".claude/.credentials.json", CLAUDE)
    write(home / ".codex/auth.json", CODEX)
    write(home / ".gemini/oauth_creds.json", GEMINI)
    swaps: dict[str, str] = {}
    owners: dict[str, str] = {}
    views = open_views(
        [("anthropic", ["~/.claude/.credentials.json"]), ("openai", ["~/.codex/auth.json"]),
         ("gemini", ["~/.gemini/oauth_creds.json"])],
        home, session, swaps, owners,
    )  # fmt: skip
    assert len(views) == 3 and all(v.view_file is not None for v in views)
    shown = {v.vendor: v.view_file.read_text() for v in views if v.view_file}
    for text in shown.values():
        assert "REAL" not in text
    claude = json.loads(shown["anthropic"])["claudeAiOauth"]
    assert claude["accessToken"].startswith("sk-ant-oat01-sandgate")
    assert claude["subscriptionType"] == "max" and claude["expiresAt"] == 1764000000000
    codex = json.loads(shown["openai"])["tokens"]
    # The claims stay readable (Codex reads its plan from the id_token); the signature
    # is the placeholder, so the token is useless anywhere else.
    assert codex["id_token"].rsplit(".", 1)[0] == CODEX_ID.rsplit(".", 1)[0]
    assert codex["account_id"] == "acct-1234"
    assert json.loads(shown["gemini"])["access_token"].startswith("ya29.sandgate")
    assert set(owners.values()) == {"anthropic", "openai", "gemini"}
    assert len(swaps) == 7
    assert all(v.view_file.stat().st_mode & 0o777 == 0o600 for v in views if v.view_file)


def test_refreshed_tokens_are_written_back_into_the_real_file(tmp_path: Path) -> None:
    home, session = tmp_path / "home", tmp_path / "session"
    session.mkdir()
    real = write(home / ".claude/.credentials.json", CLAUDE)
    swaps: dict[str, str] = {}
    owners: dict[str, str] = {}
    [view] = open_views([("anthropic", ["~/.claude/.credentials.json"])], home, session,
                        swaps, owners)  # fmt: skip
    assert view.view_file is not None
    assert sync_back([view], swaps) == []  # nothing changed: the real file is untouched
    # A refresh inside: the proxy swapped the answer's tokens for new placeholders...
    answer = json.dumps(
        {
            "access_token": "sk-ant-oat01-NEWACCESSNEWACCESSNEW",
            "refresh_token": "sk-ant-ort01-NEWREFRESHNEWREFRESH",
        }
    )
    shown = json.loads(swap_tokens(answer, swaps, owners, "anthropic"))
    # ...and the agent saved them into its (shown) file.
    saved = json.loads(view.view_file.read_text())
    saved["claudeAiOauth"]["accessToken"] = shown["access_token"]
    saved["claudeAiOauth"]["refreshToken"] = shown["refresh_token"]
    view.view_file.write_text(json.dumps(saved))
    assert sync_back([view], swaps) == [real]
    now = json.loads(real.read_text())["claudeAiOauth"]
    assert now["accessToken"] == "sk-ant-oat01-NEWACCESSNEWACCESSNEW"
    assert now["refreshToken"] == "sk-ant-ort01-NEWREFRESHNEWREFRESH"
    assert real.stat().st_mode & 0o777 == 0o600


def test_a_login_made_inside_lands_in_the_real_file(tmp_path: Path) -> None:
    """No file at the start (`/login` inside): the agent writes the file itself, with the
    placeholders the proxy gave it; the session's end puts the real tokens there."""
    home, session = tmp_path / "home", tmp_path / "session"
    (home / ".claude").mkdir(parents=True)
    session.mkdir()
    swaps: dict[str, str] = {}
    owners: dict[str, str] = {}
    [view] = open_views([("anthropic", ["~/.claude/.credentials.json"])], home, session,
                        swaps, owners)  # fmt: skip
    assert view.view_file is None
    answer = json.dumps({"access_token": "sk-ant-oat01-LOGGEDINLOGGEDINLOGGEDIN"})
    placeholder = json.loads(swap_tokens(answer, swaps, owners, "anthropic"))["access_token"]
    view.host_file.write_text(json.dumps({"claudeAiOauth": {"accessToken": placeholder}}))
    assert sync_back([view], swaps) == [view.host_file]
    assert "LOGGEDIN" in view.host_file.read_text() and "sandgate" not in view.host_file.read_text()


def test_a_file_that_is_not_json_is_not_shown(tmp_path: Path) -> None:
    home, session = tmp_path / "home", tmp_path / "session"
    session.mkdir()
    (home / ".codex").mkdir(parents=True)
    (home / ".codex/auth.json").write_text("not json at all")
    views = open_views([("openai", ["~/.codex/auth.json"])], home, session, {}, {})
    assert views == []  # it stays behind a decoy


def test_restore_is_the_inverse_of_swap() -> None:
    swaps: dict[str, str] = {}
    text = json.dumps(GEMINI)
    shown = swap_tokens(text, swaps, {}, "gemini")
    assert shown != text and restore_tokens(shown, swaps) == text
    assert swap_tokens(shown, swaps, {}, "gemini") == shown  # placeholders are left alone


def test_a_refresh_the_agent_could_not_save_still_reaches_the_real_file(tmp_path: Path) -> None:
    """Codex renames its new auth.json over the old one, which a file shown at its place
    refuses (EBUSY): the refresh it got is kept anyway, from the token endpoint's answer,
    since a rotated refresh token is the only one that still works."""
    home, session = tmp_path / "home", tmp_path / "session"
    session.mkdir()
    real = write(home / ".codex/auth.json", CODEX)
    swaps: dict[str, str] = {}
    owners: dict[str, str] = {}
    [view] = open_views([("openai", ["~/.codex/auth.json"])], home, session, swaps, owners)
    latest: dict[tuple[str, str], str] = {}
    assert sync_back([view], swaps, latest) == []
    new_access = jwt({"sub": "user-1", "n": 2})
    answer = json.dumps({"access_token": new_access, "refresh_token": "rt_NEWREFRESHNEWREFRESH01"})
    swap_tokens(answer, swaps, owners, "openai", latest)
    # The agent's file is as it was (its write failed); the real one gets the new tokens.
    assert sync_back([view], swaps, latest) == [real]
    tokens = json.loads(real.read_text())["tokens"]
    assert tokens["refresh_token"] == "rt_NEWREFRESHNEWREFRESH01"
    assert tokens["access_token"] == new_access
    assert tokens["id_token"] == CODEX_ID  # not in the answer: kept as it was
    assert "sandgate" not in real.read_text()
