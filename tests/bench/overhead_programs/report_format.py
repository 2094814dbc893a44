# Report lines built with f-strings, str.format and padding.
rows = [(f"item-{i}", i * 3.14159, i % 97) for i in range(12000)]
lines = []
for name, price, qty in rows:
    lines.append(f"{name:<12}|{price:>10.2f}|{qty:4d}")
    if qty == 0:
        lines.append("{:=^30}".format(" restock " + name))
table = "\n".join(lines)
[len(lines), len(table), lines[1], lines[-1]]
