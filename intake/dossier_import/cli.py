"""``flask import dossiers FILE [--dry-run] [--mapping MAPPING.json]``: thin, calls the services."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from intake.dossier_import import queries, services
from intake.dossier_import.mapping import Mapping, MappingError
from tthc.clock import now
from tthc.extensions import db

import_cli = AppGroup("import", help="Import data received elsewhere (dossiers from spreadsheets).")


@import_cli.command("dossiers")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check and report every row, write no dossier.")
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A JSON column mapping (headers -> fields, status words ...), see the README.")
@click.option("--saved-mapping", default=None, help="The name of a mapping saved on the import page.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the per-row report to this .xlsx file.")
@click.option("--batch-size", default=services.BATCH_SIZE, show_default=True, type=click.IntRange(1, 10000))
def import_dossiers_command(path, dry_run, mapping_path, saved_mapping, report_path, batch_size):
    """Import dossiers from a .csv or .xlsx export (idempotent by dossier code)."""
    try:
        if mapping_path:
            with open(mapping_path, encoding="utf-8-sig") as fh:
                mapping = Mapping.from_json(fh.read())
        elif saved_mapping:
            mapping = queries.get_saved_mapping(db.session, saved_mapping)
        else:
            mapping = Mapping()
    except (MappingError, LookupError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    with open(path, "rb") as fh:
        try:
            run_id = services.import_file(db.session, fh, path, mapping=mapping, now=now(),
                                          agency_code=current_app.config["AGENCY_CODE"], commit=db.session.commit,
                                          source="cli", dry_run=dry_run, batch_size=batch_size)
        except services.ImportFileError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(2)
    run = queries.get_run(db.session, run_id)
    counts = run.counts or {}
    click.echo(f"import run {run.id}{' (dry run: nothing written)' if dry_run else ''}: "
               f"{counts.get('created', 0)} created, {counts.get('updated', 0)} updated, "
               f"{counts.get('unchanged', 0)} unchanged, {counts.get('rejected', 0)} rejected")
    for r in queries.report_rows(db.session, run_id, outcome="rejected", limit=50):
        click.echo(f"  line {r.line} {r.code or '-'} [{r.column}] {r.reason}")
    if counts.get("rejected", 0) > 50:
        click.echo(f"  ... {counts['rejected'] - 50} more rejected rows: see the report")
    if report_path:
        with open(report_path, "wb") as out:
            queries.report_workbook_for(db.session, run_id, out)
        click.echo(f"report written to {report_path}")
    if run.error:
        click.echo(f"error: {run.error}", err=True)
        sys.exit(1)


def init_app(app) -> None:
    app.cli.add_command(import_cli)
