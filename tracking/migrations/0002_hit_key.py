from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0001_initial"),
    ]

    operations = [
        # Stream entry ids already stored stay unique keys of their hits: the
        # new keys (UUIDs) cannot collide with them.
        migrations.RenameField(model_name="openevent", old_name="stream_id", new_name="hit_key"),
    ]
