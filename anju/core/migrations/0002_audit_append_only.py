"""The audit head row, and triggers that refuse UPDATE, DELETE and TRUNCATE on audit rows."""

from django.db import migrations

from anju.core import audit_guard


def forwards(apps, schema_editor):
    audit_guard.install(schema_editor.connection)
    apps.get_model("core", "AuditHead").objects.get_or_create(pk=1)


def backwards(apps, schema_editor):
    audit_guard.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
