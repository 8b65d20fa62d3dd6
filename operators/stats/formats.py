"""How a table cell reads in French on the page, and how it is written in the dashboard's CSV exports."""

from __future__ import annotations

import csv
import io

from operators.stats.tables import Cell, Column, Table

# Spreadsheets set up in French read ";" as the separator and "," as the decimal mark; the BOM tells them UTF-8.
CSV_SEPARATOR = ";"
BOM = "\ufeff"


def _thousands(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def duration(seconds: float) -> str:
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def display(cell: Cell, column: Column) -> str:
    if cell is None:
        return "—"
    if column.kind == "share" and isinstance(cell, float):
        return f"{cell * 100:.1f}".replace(".", ",") + "\u00a0%"
    if column.kind == "seconds" and isinstance(cell, int | float):
        return duration(cell)
    if isinstance(cell, int):
        return _thousands(cell)
    return str(cell)


def csv_header(column: Column) -> str:
    suffix = {"share": " (%)", "seconds": " (secondes)"}.get(column.kind, "")
    return column.label + suffix


def csv_value(cell: Cell, column: Column) -> str:
    if cell is None:
        return ""
    if column.kind == "share" and isinstance(cell, float):
        return f"{cell * 100:.1f}".replace(".", ",")
    if column.kind == "seconds" and isinstance(cell, int | float):
        return str(round(cell))
    return str(cell)


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=CSV_SEPARATOR, lineterminator="\r\n")
    writer.writerow([csv_header(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([csv_value(cell, column) for cell, column in zip(row, table.columns, strict=True)])
    return BOM + out.getvalue()
