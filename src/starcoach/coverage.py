"""How well each of a company's values is covered, and where the gaps are.

Two sources say a value is covered:

* the story vault: stories mapped onto the value (``values = ["company:value"]``)
  count fully, stories inferred to show it (``vault.value_coverage``) count half;
* past answers for the company whose link back named the value
  (``structure['link_back'].values`` of the stored analyses).

``gap_weights`` turns that into a weight per value for
``questions.choose_questions(weights=...)``, so ``practice --focus gaps``
asks first about the values with no story and no practised link back::

    story factor   3 - min(2, stories)        3 with none, 2 with one, 1 with two or more
    answer factor  1 + 1 / (1 + answers)      2 never linked, 1.5 once, 1.33 twice...
    weight         story factor * answer factor

Works with no vault file and no sessions (every value then weighs the same).
A vault file that cannot be read or parsed is ignored here: ``starcoach vault
list`` reports its problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from starcoach.banks import Company

if TYPE_CHECKING:
    from starcoach.store import Store
    from starcoach.vault import Vault


@dataclass(frozen=True)
class ValueCover:
    value_id: str
    name: str
    #: Stories mapped onto the value in the vault, and stories inferred to show it.
    explicit: tuple[str, ...]
    inferred: tuple[str, ...]
    #: Past answers for this company whose link back named the value.
    answers: int

    @property
    def stories(self) -> float:
        return len(self.explicit) + 0.5 * len(self.inferred)

    @property
    def weight(self) -> float:
        story_factor = 3.0 - min(2.0, self.stories)
        answer_factor = 1.0 + 1.0 / (1 + self.answers)
        return round(story_factor * answer_factor, 4)


def _load_vault(vault_path: Optional[Path]) -> Optional["Vault"]:
    from starcoach.vault import VaultError, load

    if vault_path is None:
        return None
    try:
        return load(Path(vault_path))
    except VaultError:
        return None


def linked_answers(company: Company, store: Optional["Store"]) -> dict[str, int]:
    """Value id -> how many stored answers for this company linked back to it."""
    counts = {v.id: 0 for v in company.values}
    if store is None:
        return counts
    by_name = {v.name.lower(): v.id for v in company.values}
    for session in store.sessions():
        for row in store.answers(session.id):
            if (row.company or session.company) != company.id or not row.analysis_json:
                continue
            try:
                analysis = row.analysis(company_name=company.name)
            except (ValueError, KeyError, TypeError):
                continue  # a row from an older or damaged schema: skip it
            if analysis is None or analysis.error is not None:
                continue
            link = analysis.structure.get("link_back")
            if link is None or not link.present:
                continue
            for name in set(link.values):
                vid = by_name.get(name.lower())
                if vid:
                    counts[vid] += 1
    return counts


def value_covers(company: Company, store: Optional["Store"], vault: Optional["Vault"]) -> list[ValueCover]:
    """Each of the company's values with its stories and linked answers, in the company's order."""
    from starcoach.vault import value_coverage

    stories = value_coverage(vault, company) if vault is not None else {v.id: [] for v in company.values}
    answers = linked_answers(company, store)
    out = []
    for v in company.values:
        refs = stories.get(v.id, [])
        out.append(ValueCover(
            value_id=v.id, name=v.name,
            explicit=tuple(str(r) for r in refs if not getattr(r, "inferred", False)),
            inferred=tuple(str(r) for r in refs if getattr(r, "inferred", False)),
            answers=answers.get(v.id, 0)))
    return out


def gap_weights(company: Company, store: Optional["Store"], vault_path: Optional[Path]) -> dict[str, float]:
    """Value id -> weight, higher for the values covered least by vault stories and past answers."""
    vault = _load_vault(vault_path)
    return {c.value_id: c.weight for c in value_covers(company, store, vault)}


def gap_targets(company: Company, weights: dict[str, float], n: int = 3) -> list[str]:
    """The names of the values ``--focus gaps`` aims at: the highest weights, in the company's order on ties."""
    order = sorted(range(len(company.values)), key=lambda i: (-weights.get(company.values[i].id, 0.0), i))
    return [company.values[i].name for i in order[:n]]
