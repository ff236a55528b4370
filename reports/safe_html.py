"""What every HTML document the program writes shares, so stored text stays data in it.

- `CSP_META`: a Content-Security-Policy that lets the page load and run nothing: no script,
  no frame, no form, no fetch, no image or font from anywhere (an inline SVG needs none);
  only the page's own inline `<style>` and `style` attributes. Even if a value ever slipped
  through unescaped, a browser would not run it or send anything anywhere. It comes right
  after the charset, before anything it must cover.
- `markdown_to_html`: CommonMark rendered with raw HTML off (`html=False`), so a `<script>`
  in a Markdown document the program made is shown as text, never passed through.
"""
from __future__ import annotations

CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                           "form-action 'none'")
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'


def markdown_to_html(markdown_text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).render(markdown_text)
