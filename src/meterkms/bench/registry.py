"""Registry of benchmark scenarios for `meterkms bench`.

A scenario is a function taking a :class:`BenchContext` and returning :class:`Figure` rows.
Each figure is printed next to the raw ceiling the scenario measured in the same run, so a
number is never read without its limit on the same machine. Scenario modules live in this
package and register themselves with :func:`scenario`; :func:`load_all` imports them all.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    """One measured figure, optionally with the raw ceiling it is compared against."""

    name: str
    value: float
    unit: str
    ceiling: float | None = None
    ceiling_label: str = ""
    goal: str = ""
    passed: bool | None = None

    @property
    def ratio(self) -> float | None:
        """Share of the ceiling reached, or None when there is no ceiling."""
        if not self.ceiling:
            return None
        return self.value / self.ceiling


@dataclass
class BenchContext:
    """What a scenario may use: the database choice, a scale factor and a progress callback."""

    db: str = "sqlite"
    scale: float = 1.0
    progress: Callable[[str], None] = field(default=lambda message: None)

    def n(self, full_size: int) -> int:
        """The issue's full size scaled for this run (at least 1)."""
        return max(1, int(full_size * self.scale))


ScenarioFunc = Callable[[BenchContext], Iterable[Figure]]


@dataclass(frozen=True)
class Scenario:
    """A named benchmark scenario."""

    name: str
    description: str
    func: ScenarioFunc
    needs_django: bool


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    name: str, *, description: str, needs_django: bool = False
) -> Callable[[ScenarioFunc], ScenarioFunc]:
    """Register ``func`` as the scenario ``name``."""

    def register(func: ScenarioFunc) -> ScenarioFunc:
        if name in SCENARIOS:
            raise ValueError(f"benchmark scenario {name!r} is registered twice")
        SCENARIOS[name] = Scenario(name, description, func, needs_django)
        return func

    return register


def load_all() -> dict[str, Scenario]:
    """Import every module of this package so that its scenarios register themselves."""
    package = importlib.import_module(__package__ or "meterkms.bench")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in {"registry", "command"}:
            importlib.import_module(f"{package.__name__}.{module.name}")
    return SCENARIOS
