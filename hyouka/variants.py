"""Variants are versions: a variant's identity is the hash of everything that shapes its output.

Provider type, model, endpoint, template text, params, and for app functions the function's
name and the source of its module. Editing a prompt therefore makes a new version; the old one
and its outputs stay in the store (``hyouka variants --history NAME``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from hyouka.config import Project, VariantConfig
from hyouka.datasets import Case
from hyouka.errors import ConfigError, TemplateError
from hyouka.hashing import content_hash
from hyouka.providers.base import Message

_ENV = ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
)
# Provider options that do not change what the model says.
_NON_SHAPING = {
    "api_key_env",
    "headers",
    "timeout",
    "max_retries",
    "rpm",
    "tpm",
    "concurrency",
    "pricing",
}


@dataclass
class VariantSpec:
    """A resolved variant: texts read from files, identity computed."""

    name: str
    kind: str  # prompt | app | external (outputs imported by ``hyouka import``)
    provider: str | None
    provider_type: str | None
    model: str
    params: dict[str, Any]
    messages: list[tuple[str, str]] = field(default_factory=list)  # (role, template text)
    # where each message's template came from: its hyouka.yaml field, and its file (None inline)
    sources: list[tuple[tuple[str | int, ...], Path | None]] = field(default_factory=list)
    app: str | None = None
    family: str | None = None
    identity: dict[str, Any] = field(default_factory=dict)
    _compiled: list[tuple[str, jinja2.Template]] = field(default_factory=list, repr=False)
    # per message: the template as text and variable names when it is only ``{{ name }}``
    # substitutions (see _plain_parts), else None
    _plain: list[list[tuple[bool, str]] | None] = field(default_factory=list, repr=False)

    @property
    def version(self) -> str:
        return content_hash(self.identity, 12)

    tools: list[dict[str, Any]] = field(default_factory=list)  # the variant's own tools

    def tools_for(self, case: Case) -> tuple[dict[str, Any], ...]:
        """The tools the model may call for ``case``: the variant's, then the case's (a case's
        tool replaces the variant's tool of the same name)."""
        if not case.tools:
            return tuple(self.tools)
        mine = {t["name"] for t in case.tools}
        return (*(t for t in self.tools if t["name"] not in mine), *case.tools)

    def render(
        self, case: Case, history: list[dict[str, Any]] | None = None
    ) -> tuple[Message, ...]:
        """The chat messages for ``case`` (empty for app variants).

        A conversation case (``messages``, or ``history`` for a simulated one) gets the
        variant's system template(s) and then its turns: the variant answers the next
        assistant turn, and its ``prompt``/user templates are not used."""
        if not self._compiled:
            return ()
        values = case.as_template_vars()
        if history is not None or case.messages:
            from hyouka.convo.messages import to_messages

            system = [(r, t) for r, t in self._compiled if r == "system"]
            turns = case.chat if history is None else to_messages(history)
            return (*self._render_all(system, values, case), *turns)
        if all(role == "system" for role, _ in self._compiled):
            raise TemplateError(
                f"variant '{self.name}' has only a system prompt, which answers conversation "
                f"cases (with 'messages'); case '{case.id}' has none: give the variant a "
                "'prompt' or the case 'messages'"
            )
        return self._render_all(self._compiled, values, case)

    def _plain_by_template(self) -> dict[int, list[tuple[bool, str]]]:
        """The plain-text parts of each compiled template that has them (see _plain_parts)."""
        return {
            id(template): parts
            for (_, template), parts in zip(self._compiled, self._plain, strict=False)
            if parts is not None
        }

    def _render_all(
        self, compiled: list[tuple[str, jinja2.Template]], values: dict[str, Any], case: Case
    ) -> tuple[Message, ...]:
        out = []
        plain = self._plain_by_template()
        for role, template in compiled:
            parts = plain.get(id(template))
            if parts is not None:
                text = _render_plain(parts, values)
                if text is not None:
                    out.append(Message(role, text))
                    continue
            try:
                out.append(Message(role, template.render(values)))
            except jinja2.UndefinedError as exc:
                raise TemplateError(
                    f"variant '{self.name}', case '{case.id}': {exc.message}; "
                    f"the case has vars: {', '.join(sorted(case.vars)) or 'none'}"
                ) from None
            except jinja2.TemplateError as exc:
                raise TemplateError(f"variant '{self.name}', case '{case.id}': {exc}") from None
        return tuple(out)


def _read_text(
    project: Project, value: str, field_loc: tuple[str | int, ...]
) -> tuple[str, Path | None]:
    """A template given inline, or as a file path relative to the project (and that path)."""
    candidate = project.resolve(value)
    looks_like_path = (
        "\n" not in value
        and len(value) < 300
        and (candidate.suffix in {".j2", ".jinja", ".txt", ".md", ".prompt"} or candidate.is_file())
    )
    if not looks_like_path:
        return value, None
    if not candidate.is_file():
        raise ConfigError(
            f"template file '{value}' not found", project.locate(*field_loc), _dotted(field_loc)
        )
    return candidate.read_text(encoding="utf-8"), candidate


def _dotted(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _plain_parts(text: str) -> list[tuple[bool, str]] | None:
    """A template that is only text and ``{{ name }}`` outputs, as (is_name, text or name)
    parts; None for any other template (filters, tags, expressions…).

    Jinja renders such a template as the text with ``str(value)`` for each name found in the
    variables (autoescape off, no finalize; the sandbox only guards attribute access and
    calls), so :func:`_render_plain` gives the same text without a render context per call.
    """
    from jinja2 import nodes

    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError:
        return None
    parts: list[tuple[bool, str]] = []
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            return None
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                parts.append((False, child.data))
            elif isinstance(child, nodes.Name) and child.ctx == "load":
                parts.append((True, child.name))
            else:
                return None
    return parts


def _render_plain(parts: list[tuple[bool, str]], values: dict[str, Any]) -> str | None:
    """The text of a plain template; None when a name is not in ``values`` (then Jinja
    renders it: a global, or the undefined-variable error)."""
    out = []
    for is_name, text in parts:
        if is_name:
            if text not in values:
                return None
            out.append(str(values[text]))
        else:
            out.append(text)
    return "".join(out)


def _compile(text: str, project: Project, loc: tuple[str | int, ...]) -> jinja2.Template:
    try:
        return _ENV.from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"template syntax error on its line {exc.lineno}: {exc.message}",
            project.locate(*loc),
            _dotted(loc),
        ) from None


def _module_source_hash(project: Project, ref: str) -> str:
    module = ref.partition(":")[0]
    path = project.root / (module.replace(".", "/") + ".py")
    if not path.is_file():
        try:
            found = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            found = None
        origin = found.origin if found else None
        path = Path(origin) if origin else path
    return content_hash(path.read_text(encoding="utf-8")) if path.is_file() else ""


def resolve_variant(project: Project, name: str, config: VariantConfig) -> VariantSpec:
    providers = project.config.providers
    prov = providers.get(config.provider) if config.provider else None
    model = config.model or (prov.model if prov else "")
    base = ("variants", name)
    given: list[tuple[str, str, tuple[str | int, ...]]] = []
    if config.system is not None:
        given.append(("system", config.system, (*base, "system")))
    if config.prompt is not None:
        given.append(("user", config.prompt, (*base, "prompt")))
    for i, m in enumerate(config.messages or []):
        given.append((m.role, m.content, (*base, "messages", i, "content")))
    messages: list[tuple[str, str]] = []
    sources: list[tuple[tuple[str | int, ...], Path | None]] = []
    for role, value, loc in given:
        text, path = _read_text(project, value, loc)
        messages.append((role, text))
        sources.append((loc, path))
    provider_identity = None
    if prov is not None:
        provider_identity = {
            "type": prov.type,
            "base_url": prov.base_url,
            "options": {k: v for k, v in prov.options.items() if k not in _NON_SHAPING},
        }
    identity: dict[str, Any] = {
        "provider": provider_identity,
        "model": model,
        "messages": messages,
        "params": config.params,
    }
    tools: list[dict[str, Any]] = []
    if config.tools:
        from hyouka.convo.messages import ConvoError, parse_tools

        try:
            tools = parse_tools(config.tools)
        except ConvoError as exc:
            loc = (*base, "tools")
            raise ConfigError(str(exc), project.locate(*loc), _dotted(loc)) from None
        identity["tools"] = tools
    if config.app is not None:
        identity["app"] = config.app
        identity["app_source"] = _module_source_hash(project, config.app)
    spec = VariantSpec(
        name=name,
        kind="app" if config.app else "prompt",
        provider=config.provider,
        provider_type=prov.type if prov else None,
        model=model,
        params=dict(config.params),
        messages=messages,
        sources=sources,
        app=config.app,
        family=config.family,
        identity=identity,
        tools=tools,
    )
    spec._compiled = [
        (role, _compile(text, project, loc))
        for (role, text), (loc, _) in zip(messages, sources, strict=True)
    ]
    spec._plain = [_plain_parts(text) for _, text in messages]
    return spec


def resolve_variants(project: Project, names: list[str] | None = None) -> list[VariantSpec]:
    configured = project.config.variants
    if names:
        unknown = [n for n in names if n not in configured]
        if unknown:
            raise ConfigError(
                f"unknown variant(s) {', '.join(unknown)}; the project has: "
                f"{', '.join(configured) or 'none'}"
            )
    chosen = names or list(configured)
    return [resolve_variant(project, n, configured[n]) for n in chosen]


def external_variant(
    name: str, content_hash: str, fmt: str, model: str | None = None
) -> VariantSpec:
    """A variant whose outputs were produced elsewhere and imported (``hyouka import``).

    Nothing here can run it: its identity is the imported file (the sha256 of its bytes and
    its format), so another file under the same name is another version of the variant, and
    importing the same file again finds the same version. ``model`` (the rows' ``model``) is
    recorded on the variant, not hashed: the file already fixes it.
    """
    identity: dict[str, Any] = {"external": {"content_hash": content_hash, "format": fmt}}
    return VariantSpec(
        name=name,
        kind="external",
        provider=None,
        provider_type=None,
        model=model or "",
        params={},
        identity=identity,
    )
