"""Name rules: what a definition name and a queue name may be (pure; no Django models).

Patterns are matched with ``fullmatch``, so a trailing newline is refused like any other
character outside the rule.
"""

from __future__ import annotations

import re

#: A job definition's name: ``myapp.jobs.send_email``.
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,199}$")

QUEUE_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,99}$")
QUEUE_NAME_RULE = (
    "1 to 100 characters: letters, digits, '_', '.', ':' and '-', "
    "not starting with a punctuation mark"
)
