"""What a facade is bound to: one project's store, its name, and its folder when known."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hyouka.config import HumanConfig, Project
    from hyouka.store.store import Store


@dataclass(frozen=True)
class Scope:
    """One project's store, its name, and its folder and config when known.

    The web app may run without the folder (tests, a store-only server): then the config's
    own defaults apply wherever the project's would.
    """

    store: Store
    name: str
    project: Project | None = None

    @property
    def human(self) -> HumanConfig:
        """The ``human:`` section of hyouka.yaml (its defaults without a project)."""
        from hyouka.config import HumanConfig

        return self.project.config.human if self.project is not None else HumanConfig()

    @property
    def seed(self) -> int:
        """The project's seed (``seed:``), else the config's default."""
        from hyouka.config import ProjectConfig

        if self.project is not None:
            return self.project.config.seed
        return int(ProjectConfig.model_fields["seed"].default)

    def text(self, value: str | None) -> str | None:
        """A rubric or instructions: the text of a project file when ``value`` names one,
        else ``value`` itself (None and "" stay as they are)."""
        if not value or self.project is None:
            return value
        path = self.project.resolve(value)
        if len(value) < 300 and "\n" not in value and path.is_file():
            return path.read_text(encoding="utf-8")
        return value
