"""What a name may contain. Names are shown to other people (console, CLI, audit log, exports), so a name
carries no character that hides or reorders text: no control characters (NUL, CR, LF, ESC, ...), no format
characters (right-to-left and other bidirectional overrides, zero-width spaces and joiners, BOM), no line or
paragraph separators, no private-use or unpaired surrogate code points, and not only blanks."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

# Unicode general categories refused in names: Cc control, Cf format (bidi overrides, zero-width), Cs
# surrogate, Co private use, Zl line separator, Zp paragraph separator.
FORBIDDEN_NAME_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def name_problem(name: str) -> str | None:
    """Why `name` is not an acceptable name, or None."""
    for character in name:
        if unicodedata.category(character) in FORBIDDEN_NAME_CATEGORIES:
            return (
                f"may not contain U+{ord(character):04X} ({unicodedata.name(character, 'unnamed')}): names are free"
                " of control, bidirectional-override and zero-width characters"
            )
    if not name.strip():
        return "may not be blank"
    return None


def _acceptable_name(value: str) -> str:
    problem = name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# The type of every display name a client sends (project, artifact, user, tenant, API key, team member).
Name = Annotated[str, AfterValidator(_acceptable_name)]
