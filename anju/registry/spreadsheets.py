"""Reading uploaded registry spreadsheets (CSV or XLSX) into rows, and writing XLSX.

A sheet's first non-empty row holds the headers: each is a column's English field name or its
Chinese label (the label is what the downloadable templates carry). Cells come back as text, or as a
`date` where the spreadsheet stored a date, keyed by field name, with the row number the clerk sees
in Excel, so every fault can be reported where it is.
"""

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from anju.core.errors import InvalidField

MAX_ROWS = 100_000
MAX_BYTES = 20 * 1024 * 1024
# Excel keeps 15 significant digits: a longer number (an ID number typed into a number cell) has lost
# its last digits and cannot be trusted.
EXACT_DIGITS = 15


@dataclass(frozen=True)
class Column:
    """One column a sheet may have: its field name, the Chinese header, other headers accepted."""

    field: str
    label: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    # Words clerks write for a coded value (户籍 -> registered); other values pass as written.
    values: Mapping[str, str] | None = field(default=None, compare=False)


@dataclass
class Table:
    """What was read: data rows as (row number, {field: value}) and the faults of the sheet itself."""

    rows: list[tuple[int, dict]] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    header_row: int = 1


def fault(row: int, column: str, message: str) -> dict:
    """One entry of an error report: the spreadsheet row, the column (field name) and what is wrong."""
    return {"row": row, "field": column, "message": message}


def _header_key(text) -> str:
    return re.sub(r"[\s*＊:：()（）]", "", str(text or "")).lower()


def _decode(content: bytes) -> str:
    """The text of a CSV: UTF-16 (Excel's "Unicode text"), UTF-8 with or without BOM, else GB18030
    (a superset of GBK, which Excel in China uses for "CSV")."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidField("file", _("The file's text is neither UTF-8 nor GB18030/GBK; save it again as CSV (UTF-8)."))


def _csv_rows(content: bytes) -> Iterable[tuple[int, list]]:
    """(row number, cells) of a comma- or tab-separated text."""
    text = _decode(content)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    # The reader's line number is the last physical line of the record, which is the Excel row unless
    # a cell spans lines; counting records keeps it the row a clerk sees.
    yield from enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1)


def _xlsx_rows(content: bytes) -> Iterable[tuple[int, list]]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidField("file", _("The file is not a readable XLSX workbook.")) from exc
    try:
        sheet = book.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(cells)
    finally:
        book.close()


def _cell(value, row: int, column: str, errors: list) -> str | date:
    """A cell as text (a date stays a date); a number too long for Excel to keep exactly is a fault."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not value.is_integer():
            return repr(value)
        if len(str(abs(int(value)))) > EXACT_DIGITS:
            errors.append(
                fault(row, column, _("Excel stored this as a number and lost digits: format the column as text."))
            )
            return ""
        return str(int(value))
    return str(value).strip()


def read_upload(upload) -> bytes:
    """The bytes of an uploaded file; one above the size limit is refused before it is read."""
    if upload.size > MAX_BYTES:
        raise InvalidField("file", _("The file is larger than 20 MB; split it into several files."))
    return upload.read()


def read_table(filename: str, content: bytes, columns: Iterable[Column]) -> Table:
    """Rows of the first sheet of an uploaded CSV or XLSX file, headers matched to `columns`.

    Raises `InvalidField("file")` for a file that cannot be read at all (size, format, encoding, too many
    rows); faults of the headers and cells come back in `Table.errors`, each with its row.
    """
    if len(content) > MAX_BYTES:
        raise InvalidField("file", _("The file is larger than 20 MB; split it into several files."))
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        source = _xlsx_rows(content)
    elif name.endswith((".csv", ".txt")):
        source = _csv_rows(content)
    else:
        raise InvalidField("file", _("Upload a CSV or XLSX file (an .xls workbook must be saved as .xlsx first)."))
    columns = list(columns)
    lookup = {}
    values = {c.field: c.values for c in columns if c.values}
    for column in columns:
        for header in (column.field, column.label, *column.aliases):
            lookup[_header_key(header)] = column.field
    table = Table()
    fields: list[str | None] | None = None
    for number, cells in source:
        if not any(str(c).strip() for c in cells if c is not None):
            continue
        if fields is None:
            fields = _read_headers(number, cells, lookup, columns, table)
            if table.errors:
                return table
            continue
        if len(table.rows) >= MAX_ROWS:
            raise InvalidField(
                "file", _("The file has more than %(n)s rows; split it into several files.") % {"n": f"{MAX_ROWS:,}"}
            )
        row = {}
        for f, value in zip(fields, cells, strict=False):
            if f is not None:
                text = _cell(value, number, f, table.errors)
                row[f] = values[f].get(text, text) if f in values and isinstance(text, str) else text
        table.rows.append((number, row))
    if fields is None:
        raise InvalidField("file", _("The file is empty: the first row must hold the column headers."))
    return table


def _read_headers(number: int, cells: list, lookup: dict, columns: list[Column], table: Table) -> list[str | None]:
    """The field of each column (None for a blank header); unknown, repeated and missing columns are faults."""
    table.header_row = number
    fields: list[str | None] = []
    for cell in cells:
        text = str(cell).strip() if cell is not None else ""
        if not text:
            fields.append(None)
            continue
        f = lookup.get(_header_key(text))
        if f is None:
            table.errors.append(fault(number, text, _("Unknown column “%(c)s”.") % {"c": text}))
        elif f in fields:
            table.errors.append(fault(number, f, _("The column “%(c)s” appears twice.") % {"c": text}))
        fields.append(f)
    for column in columns:
        if column.required and column.field not in fields:
            table.errors.append(fault(number, column.field, _("The column “%(c)s” is missing.") % {"c": column.label}))
    return fields


def write_xlsx(out, title: str, headers: list[str], rows: Iterable[list], text_columns: Iterable[int] = ()) -> int:
    """Write one sheet, bold headers then `rows`, to the binary file `out`; returns the rows written.

    Write-only mode keeps memory flat for any number of rows. Columns in `text_columns` (0-based) are
    formatted as text, so a clerk typing an ID number into the sheet keeps all its digits.
    """
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    for index in text_columns:
        letter = get_column_letter(index + 1)
        sheet.column_dimensions[letter].number_format = "@"
        sheet.column_dimensions[letter].width = 22
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    for row in rows:
        sheet.append(row)
        count += 1
    book.save(out)
    return count
