"""``smsgate contacts import|export LOGIN FILE``: an account's contacts as CSV.

The file is UTF-8 (a BOM is accepted), comma-separated, with a header line naming its columns:
any of ``phone``, ``mail``, ``name``, ``lnm``, ``fnm``, ``mnm``, ``fio``, ``bd``, ``myid``, ``pho``,
``grp``, ``tags``, ``cmt`` (``id`` is ignored on import). ``grp`` holds the account's group ids
joined with ``;``, as phones.php writes them. Import works row by row like phones.php ``add=1``:
a row whose number (or address) the account already has updates that contact with the row's
non-empty values (an empty cell changes nothing) and adds it to the row's groups. Rejected rows
are reported with their line numbers, the others imported; the exit status is 1 when any row was
rejected. Export writes every contact in ascending id; ``-`` as FILE is standard output.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from typing import TextIO

import click

from smsgate.cli.common import with_services
from smsgate.domain.contacts import ContactError, parse_ids
from smsgate.errors import RequestError
from smsgate.services.contacts import MAX_PAGE, ContactFilter
from smsgate.services.container import Services
from smsgate.store.repos.contacts import ContactRecord

COLUMNS = (
    *("id", "phone", "mail", "name", "lnm", "fnm", "mnm"),
    *("bd", "myid", "pho", "grp", "tags", "cmt"),
)
IMPORTED = frozenset(COLUMNS[1:]) | {"fio"}


@click.group()
def contacts() -> None:
    """An account's contacts (phones.php) as CSV files."""


@contacts.command("import")
@click.argument("login")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def contacts_import(ctx: click.Context, login: str, path: str) -> None:
    """Add or update LOGIN's contacts from the CSV FILE."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(_read(handle))
    except (csv.Error, UnicodeDecodeError, ValueError) as exc:
        raise click.ClickException(f"{path}: {exc}") from None

    async def action(services: Services) -> int:
        account = await services.accounts.get(login)
        rejected = 0
        for line, row in rows:
            try:
                groups = parse_ids(row.pop("grp", ""), "grp")
                given = {k: v for k, v in row.items() if v}  # empty cells change nothing
                await services.contacts.add(account.id, given, groups)
            except (RequestError, ContactError) as exc:
                rejected += 1
                detail = exc.detail if isinstance(exc, RequestError) else str(exc)
                click.echo(f"{path}:{line}: {detail}", err=True)
        click.echo(f"imported {len(rows) - rejected} contacts, rejected {rejected}")
        return rejected

    if with_services(ctx, action):
        sys.exit(1)


def _read(handle: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(handle)
    header = reader.fieldnames or []
    unknown = [name for name in header if name not in IMPORTED and name != "id"]
    if unknown or not ({"phone", "mail"} & set(header)):
        raise ValueError(
            f"the header must name phone or mail and only these columns: {', '.join(COLUMNS)}"
        )
    for row in reader:
        values = {k: (v or "") for k, v in row.items() if k in IMPORTED}
        if any(values.values()):
            yield reader.line_num, values


@contacts.command("export")
@click.argument("login")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True))
@click.pass_context
def contacts_export(ctx: click.Context, login: str, path: str) -> None:
    """Write LOGIN's contacts to the CSV FILE."""

    async def action(services: Services) -> list[ContactRecord]:
        account = await services.accounts.get(login)
        found: list[ContactRecord] = []
        while True:
            after = found[-1].id if found else 0
            page = await services.contacts.contacts(
                account.id, ContactFilter(after_id=after, limit=MAX_PAGE)
            )
            found.extend(page)
            if len(page) < MAX_PAGE:
                return found

    found = with_services(ctx, action)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for c in found:
        groups = ";".join(str(g) for g in c.groups)
        writer.writerow(
            [c.id, c.phone or "", c.mail or "", c.name, c.lnm, c.fnm, c.mnm, c.bd, c.myid]
            + [c.pho, groups, c.tags, c.cmt]
        )
    with click.open_file(path, "w", encoding="utf-8") as handle:
        handle.write(buffer.getvalue())
    if path != "-":
        click.echo(f"exported {len(found)} contacts")
