"""Templates made only of text and ``{{ name }}`` render without Jinja, to the same text."""

from __future__ import annotations

from typing import Any

import pytest

from hyouka.variants import _ENV, _plain_parts, _render_plain

VALUES: dict[str, Any] = {
    "id": "ID-7", "question": "日本の首都は？", "n": 3, "x": 1.5, "flag": True, "none": None,
    "items": ["a", "b"], "meta": {"k": "v"}, "case": {"id": "ID-7"}, "blank": "",
}  # fmt: skip

PLAIN = [
    "Answer the question briefly. ({{ id }}) {{ question }}",
    "質問に日本語で答えてください。{{ question }} [{{ id }}]",
    "{{ n }} {{ x }} {{ flag }} {{ items }} {{ meta }} {{ case }}|{{ blank }}|",
    "line one\r\nline two {{id}}\n\n",  # newlines normalised, the trailing one dropped
    "  {{- id -}}  \n  {{ question }}{# a comment #}",
    "{% raw %}{{ not a var }}{% endraw %} {{ id }}",
    "no variables at all\n",
    "",
]
NOT_PLAIN = [
    "{{ id | upper }}",
    "{{ case.id }}",
    "{{ items[0] }}",
    "{% if flag %}yes{% endif %}",
    "{{ 'const' }}",
    "{{ none }} {{ true }}",  # literals in Jinja, not variables
    "{% for i in items %}{{ i }}{% endfor %}",
]


@pytest.mark.parametrize("text", PLAIN)
def test_plain_templates_render_as_jinja_does(text: str) -> None:
    parts = _plain_parts(text)
    assert parts is not None
    assert _render_plain(parts, VALUES) == _ENV.from_string(text).render(VALUES)


@pytest.mark.parametrize("text", NOT_PLAIN)
def test_other_templates_are_left_to_jinja(text: str) -> None:
    assert _plain_parts(text) is None


def test_a_name_missing_from_the_vars_goes_back_to_jinja() -> None:
    parts = _plain_parts("{{ range }} {{ nmae }}")
    assert parts is not None
    assert _render_plain(parts, VALUES) is None  # Jinja then renders the global or the error
