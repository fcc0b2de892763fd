from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    """unaccent for accent-insensitive search (onepage.search). A trusted
    extension since PostgreSQL 13: the database's owner may create it. On
    SQLite this does nothing."""

    dependencies = [("onepage", "0001_initial")]

    operations = [UnaccentExtension()]
