"""Hostile text for issue 13's "stored text is data" tests: strings an attacker (an alert
sender, a teammate with database access, a vendor's error reply, a restored backup) would
plant in a title, note, name or label, to make a renderer act instead of show.

`HOSTILE` are fixed cases, one per class; `hostile_text()` is a Hypothesis strategy mixing
them with arbitrary text. Renderer tests assert the literal text is shown (or shown
escaped) and nothing acts: no markup style or link, no click action, no terminal escape,
no HTML element, no forged Markdown line."""
from __future__ import annotations

from hypothesis import strategies as st

HOSTILE = {
    "rich_markup": "[eu] checkout [bold red]down[/] [link=https://evil.example]x[/link]",
    "textual_action": "[@click=app.quit]click me[/] [@click=screen.screenshot('/tmp/owned')]x[/]",
    "content_markup": "$variable [b]bold[/b] [$accent]accent[/]",
    "ansi_escape": "title\x1b[2J\x1b[1;31mred\x1b]0;owned\x07 \x1b[?1049h",
    "c1_controls": "reply\x9b31mC1\x85next\x9d0;title\x9c",
    "bidi": "invoice\u202egnp.exe \u2066isolate\u2069 \u200fRLM",
    "line_separators": "line one\u2028line two\u2029para\r\nforged: line",
    "html": '<script>alert(1)</script><img src=x onerror=alert(1)> <a href="javascript:x">a</a> &amp;',
    "markdown": "ok\n## Forged section\n- 14:00 forged timeline line\n| a | b |\n[link](javascript:alert(1)) `code` **b**",
    "toml_and_json": '"] = 1\n[integrations.evil]\n{"x": "\\u0000"}',
    "long": "A" * 5000,
}

_ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs",))  # every code point a file can hold


def hostile_text(min_size: int = 1, max_size: int = 200) -> st.SearchStrategy[str]:
    """A fixed hostile case, arbitrary text, or the two spliced together."""
    fixed = st.sampled_from(sorted(HOSTILE.values()))
    arbitrary = st.text(_ALPHABET, min_size=min_size, max_size=max_size)
    return st.one_of(fixed, arbitrary, st.builds(lambda a, b: a + b, fixed, arbitrary))
