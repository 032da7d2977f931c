"""A bill: counted usage priced line by line at list prices (:mod:`entraide.costs.prices`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .prices import PRICES, Price

#: A quantity of one priced unit: (service, unit) -> count.
Usage = Mapping[tuple[str, str], float]


@dataclass(frozen=True)
class Line:
    service: str
    unit: str
    count: float
    price: Price

    @property
    def cost(self) -> float:
        return self.count * self.price.each


def bill(usage: Usage, prices: Iterable[Price] = PRICES) -> list[Line]:
    """One line per counted unit, the dearest first; a unit with no price is an error."""
    known = {(price.service, price.unit): price for price in prices}
    lines = []
    for (service, unit), count in usage.items():
        price = known.get((service, unit))
        if price is None:
            raise KeyError(f"no list price for {service} / {unit}")
        lines.append(Line(service, unit, count, price))
    return sorted(lines, key=lambda line: (-line.cost, line.service, line.unit))


def total(lines: Iterable[Line]) -> float:
    return sum(line.cost for line in lines)


def table(lines: list[Line], *, title: str) -> str:
    """The bill as text: service, unit, count, price, cost; then the total."""
    rows = [f"{title}", f"{'service':<20}{'unit':<30}{'count':>14}{'price (USD)':>24}{'cost':>10}"]
    for line in lines:
        per = "" if line.price.per == 1 else f" / {line.price.per:,}"
        count = f"{line.count:,.1f}" if line.count >= 100 else f"{line.count:.4g}"
        rows.append(
            f"{line.service:<20}{line.unit:<30}{count:>14}"
            f"{f'{line.price.usd:g}{per}':>24}{f'${line.cost:.4f}':>10}"
        )
    rows.append(f"{'total':<64}{'':>24}{f'${total(lines):.4f}':>10}")
    return "\n".join(rows)
