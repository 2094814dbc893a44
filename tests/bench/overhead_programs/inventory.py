# Dataclass records grouped, sorted and summarised.
from dataclasses import dataclass, field


@dataclass
class Item:
    sku: str
    category: str
    price: float
    quantity: int
    tags: list = field(default_factory=list)

    def value(self):
        return self.price * self.quantity


categories = ["tools", "garden", "kitchen", "toys", "books"]
items = [
    Item(f"SKU{i:05d}", categories[i % 5], round(1 + (i * 37 % 500) / 10, 2), i % 13, ["new"] if i % 4 == 0 else [])
    for i in range(6000)
]
by_category = {}
for item in items:
    by_category.setdefault(item.category, []).append(item)
summary = {}
for name, group in sorted(by_category.items()):
    top = sorted(group, key=lambda it: (-it.value(), it.sku))[:3]
    summary[name] = [
        round(sum(it.value() for it in group), 2),
        [it.sku for it in top],
        sum(1 for it in group if it.tags),
    ]
summary
