"""Reading annotation spreadsheets (xlsx) and parsing their cells.

Real annotation files mix types within a column (subject '01' as text or 1 as
an int; AU cells 12 or '4+7'; apex 125 or '/'), put the header on different
rows, and are edited by hand. Everything here reports problems as DataError
naming the file, sheet, row (as a spreadsheet shows it, 1-based) and field.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Sequence


from mer_jax.errors import DataError

MISSING_MARKS = ("", "/", "\\", "-", "?", "none", "nan")


@dataclasses.dataclass(frozen=True)
class Row:
  """One data row: where it is, and its cells by header name."""

  where: str            # 'FILE, sheet S, row R' for messages
  cells: dict[str, Any]

  def __getitem__(self, field: str) -> Any:
    return self.cells.get(field)


def read_sheet(path: str, *, sheet: str | int = 0, header_row: int = 1,
               required: Sequence[str] = (), has_header: bool = True) -> list[Row]:
  """Reads the data rows of one sheet of an xlsx file.

  Args:
    path: the .xlsx file.
    sheet: sheet name, or index (0 = first).
    header_row: 1-based row of the column names (data starts below it).
    required: column names that must be in the header (exact, stripped).
    has_header: False for header-less sheets; columns are then named
      'A', 'B', ... and data starts at row 1.

  Raises:
    DataError: missing file, unknown sheet, or a header without `required`.
  """
  if not os.path.isfile(path):
    raise DataError(f"annotation file {path} does not exist")
  import openpyxl  # pylint: disable=g-import-not-at-top (the GPU machines have none)
  try:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
  except Exception as e:  # openpyxl raises many kinds for a non-xlsx file.
    raise DataError(f"{path} is not a readable .xlsx file: {e}") from e
  names = book.sheetnames
  name = names[sheet] if isinstance(sheet, int) and sheet < len(names) else sheet
  if name not in names:
    raise DataError(f"{path} has no sheet {sheet!r}; it has {names}")
  rows = list(book[name].iter_rows(values_only=True))
  book.close()
  return _rows_to_records(rows, f"{path}, sheet {name!r}", header_row, required, has_header)


def _rows_to_records(rows: list, source: str, header_row: int, required: Sequence[str],
                     has_header: bool) -> list[Row]:
  if not has_header:
    width = max((len(r) for r in rows), default=0)
    header, first = [_column_letter(i) for i in range(width)], 0
  else:
    if len(rows) < header_row:
      raise DataError(f"{source}: expected the header on row {header_row}, but the sheet "
                      f"has {len(rows)} rows")
    header = [str(c).strip() if c is not None else "" for c in rows[header_row - 1]]
    first = header_row
    missing = [c for c in required if c not in header]
    if missing:
      raise DataError(f"{source}: row {header_row} should be the header with columns "
                      f"{list(required)}; missing {missing}, found {[h for h in header if h]}")
  out = []
  for i, values in enumerate(rows[first:], start=first + 1):
    if all(v is None or str(v).strip() == "" for v in values):
      continue  # Blank lines (and trailing empty rows) carry nothing.
    cells = {h: v for h, v in zip(header, values) if h}
    out.append(Row(f"{source}, row {i}", cells))
  return out


def _column_letter(i: int) -> str:
  """'A', 'B', ..., 'Z', 'AA', ... for column index `i` (0-based), as spreadsheets name them."""
  letters, n = "", i + 1
  while n:
    n, rem = divmod(n - 1, 26)
    letters = chr(ord("A") + rem) + letters
  return letters


def is_missing(value: Any) -> bool:
  """True for an empty cell or a 'no value' mark ('/', '\\', '-', '?')."""
  return value is None or str(value).strip().lower() in MISSING_MARKS


def parse_frame(row: Row, field: str, *, optional: bool = False) -> int | None:
  """An absolute frame number from an int-or-text cell; None if missing and optional.

  Raises:
    DataError: a non-numeric cell, or a missing one when not `optional`.
  """
  value = row[field]
  if is_missing(value):
    if optional:
      return None
    raise DataError(f"{row.where}: field {field!r} is empty; expected a frame number")
  try:
    number = float(str(value).strip())
  except ValueError:
    raise DataError(f"{row.where}: field {field!r} is {value!r}; expected a frame "
                    "number") from None
  if not math.isfinite(number) or number != int(number) or number < 0:
    raise DataError(f"{row.where}: field {field!r} is {value!r}; expected a whole, "
                    "non-negative frame number")
  return int(number)


def parse_subject(row: Row, field: str) -> int:
  """A subject number from '01', '006', 6, 6.0 or 'sub06'."""
  value = row[field]
  digits = "".join(ch for ch in str(value if value is not None else "") if ch.isdigit()
                   or ch == ".")
  try:
    return int(float(digits))
  except (ValueError, OverflowError):
    raise DataError(f"{row.where}: field {field!r} is {value!r}; expected a subject "
                    "number such as '01' or 6") from None


def parse_text(row: Row, field: str) -> str:
  """A cell as stripped text ('' for empty); ints such as AU 12 become '12'."""
  value = row[field]
  if value is None:
    return ""
  if isinstance(value, float) and value.is_integer():
    value = int(value)
  return str(value).strip()


def parse_objective(row: Row, field: str) -> int | None:
  """A MEGC objective class 1-7 from an int-or-text cell; None when empty.

  Raises:
    DataError: the cell is neither empty nor a whole number 1-7.
  """
  value = row[field]
  if is_missing(value):
    return None
  text = parse_text(row, field)
  if not text.isdigit() or not 1 <= int(text) <= 7:
    raise DataError(f"{row.where}: field {field!r} is {value!r}; expected an "
                    "objective class 1-7")
  return int(text)
