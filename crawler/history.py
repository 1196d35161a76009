"""Render an article's versions as text: one header per version, a unified diff per change."""

from __future__ import annotations

import difflib


def render_history(url: str, versions: list[dict]) -> str:
    """Text for ``crawler history``: versions oldest first, each change as a unified diff."""
    lines = [f"{url}: {len(versions)} version{'s' if len(versions) != 1 else ''}\n"]
    previous = None
    for v in versions:
        current = " (current)" if v is versions[-1] else ""
        lines.append(f"\nversion {v['version']}{current}: fetched {v['fetched_at']}, "
                     f"last seen {v['last_seen_at']}\n")
        lines.append(f"title: {v['title']}\n")
        if previous is not None:
            if previous["title"] != v["title"]:
                lines.append(f"title was: {previous['title']}\n")
            diff = difflib.unified_diff(
                (previous["text"] or "").splitlines(keepends=True),
                (v["text"] or "").splitlines(keepends=True),
                fromfile=f"version {previous['version']}", tofile=f"version {v['version']}",
            )
            text = "".join(line if line.endswith("\n") else line + "\n" for line in diff)
            lines.append(text or "text unchanged\n")
        previous = v
    return "".join(lines)
