"""The starting taxonomy of case categories and the official holidays of 2025 and 2026.

Both are ordinary rows afterwards: admins edit them on the set-up pages."""

import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"


def seed(apps, schema_editor):
    Category = apps.get_model("cases", "Category")
    CalendarDay = apps.get_model("core", "CalendarDay")

    def add(nodes, parent=None):
        for order, node in enumerate(nodes):
            category, _ = Category.objects.get_or_create(
                code=node["code"],
                defaults={
                    "name": node["name"],
                    "parent": parent,
                    "description": node.get("description", ""),
                    "start_level": node["start_level"],
                    "department": node["department"],
                    "limits": node["limits"],
                    "reporter_confirms": node["reporter_confirms"],
                    "order": order,
                },
            )
            add(node.get("children", []), category)

    add(json.loads((DATA / "categories.json").read_text(encoding="utf-8")))
    for day in json.loads((DATA / "holidays.json").read_text(encoding="utf-8")):
        CalendarDay.objects.get_or_create(date=day["date"], defaults={"working": day["working"], "name": day["name"]})


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial"), ("core", "0005_calendarday")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
