"""The shape of a system default email: the same words as plain text and as HTML.

Each language module gives the words (with placeholders); this module lays them out, so the
text and the HTML body of a default always say the same thing. The HTML uses inline styles
only (no ``{`` in CSS, which the formatter would read as a placeholder) and a table layout
that mail clients render alike.
"""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """Words every default of one language shares."""

    code: str
    greeting: str
    link_hint: str
    footer: str


@dataclass(frozen=True)
class DefaultText:
    """The words of one default: subject, paragraphs, the link's button, closing notes."""

    name: str
    subject: str
    paragraphs: tuple[str, ...]
    button: str
    after: tuple[str, ...]


@dataclass(frozen=True)
class TemplateContent:
    """Name, subject and both bodies of a template, ready to be stored."""

    name: str
    subject: str
    body_text: str
    body_html: str


def plain_text(language: Language, text: DefaultText) -> str:
    """The plain-text body: greeting, paragraphs, the link under its label, notes, footer."""
    blocks = [language.greeting, *text.paragraphs, f"{text.button}:\n{{link}}", *text.after]
    return "\n\n".join(blocks) + f"\n\n-- \n{language.footer}\n"


def _p(words: str, style: str = "margin:0 0 16px;") -> str:
    return f'<p style="{style}">{html.escape(words, quote=False)}</p>'


def html_body(language: Language, text: DefaultText) -> str:
    """The HTML body: a white card with a header bar, the button and the link spelled out."""
    muted = "margin:0 0 12px;font-size:13px;color:#4f5b66;"
    rows = [
        _p(language.greeting),
        *(_p(paragraph) for paragraph in text.paragraphs),
        '<p style="margin:24px 0;"><a href="{link}" style="display:inline-block;'
        "background:#0b4f6c;color:#ffffff;padding:12px 20px;border-radius:6px;"
        f'text-decoration:none;font-weight:bold;">{html.escape(text.button)}</a></p>',
        *(_p(note, muted) for note in text.after),
        f'<p style="{muted}">{html.escape(language.link_hint)}<br>'
        '<a href="{link}" style="color:#0b4f6c;word-break:break-all;">{link}</a></p>',
    ]
    body = "\n".join(rows)
    return (
        f'<!doctype html>\n<html lang="{language.code}">\n<head><meta charset="utf-8">'
        f"<title>{html.escape(text.subject)}</title></head>\n"
        '<body style="margin:0;padding:24px;background:#f5f7f9;'
        'font-family:Arial,Helvetica,sans-serif;color:#1b1f23;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr>'
        '<td align="center">\n'
        '<table role="presentation" width="560" cellpadding="0" cellspacing="0" '
        'style="max-width:560px;background:#ffffff;border:1px solid #c9d1d9;'
        'border-radius:6px;">\n'
        '<tr><td style="background:#0b4f6c;color:#ffffff;padding:16px 24px;'
        'font-weight:bold;letter-spacing:2px;">METERKMS</td></tr>\n'
        f'<tr><td style="padding:24px;font-size:15px;line-height:1.5;">\n{body}\n</td></tr>\n'
        '<tr><td style="padding:16px 24px;font-size:12px;color:#4f5b66;'
        f'border-top:1px solid #c9d1d9;">{html.escape(language.footer)}</td></tr>\n'
        "</table>\n</td></tr></table>\n</body>\n</html>\n"
    )


def content(language: Language, text: DefaultText) -> TemplateContent:
    """The stored form of one default."""
    return TemplateContent(
        name=text.name,
        subject=text.subject,
        body_text=plain_text(language, text),
        body_html=html_body(language, text),
    )
