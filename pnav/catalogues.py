"""Build step of the translations (``make translations``): the scripts' catalogue of each language as JSON.

``pybabel compile`` makes the ``.mo`` files the server reads; this writes, next to them, ``js.json``: the translated
strings of ``js.po`` as one ``{french: translation}`` object, which every visitor page carries inline for its scripts
(``chat/static/js/i18n.js``). Untranslated and fuzzy entries are left out, so a script shows the French source.

Babel is a development dependency (the wheel carries the compiled files): it is imported here, when the step runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from chat.languages import LANGUAGES, LOCALES_DIR, SCRIPT_DOMAIN, SOURCE


def script_messages(po: Path) -> dict[str, str]:
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle)
    return {str(message.id): str(message.string) for message in catalog
            if message.id and isinstance(message.id, str) and message.string and not message.fuzzy}


def build(locales: Path = LOCALES_DIR) -> list[Path]:
    written = []
    for code in LANGUAGES:
        if code == SOURCE:
            continue
        folder = locales / code / "LC_MESSAGES"
        target = folder / f"{SCRIPT_DOMAIN}.json"
        messages = script_messages(folder / f"{SCRIPT_DOMAIN}.po")
        target.write_text(json.dumps(messages, ensure_ascii=False, sort_keys=True, indent=0) + "\n", encoding="utf-8")
        written.append(target)
    return written


def main() -> None:
    for path in build():
        print(f"pnav translations: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
