"""The demo gives Reports something true to show, whichever day it is
seeded: people's opens, an email only Apple's privacy protection fetched
(the naive tracker's gap), and replies."""

import csv
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from onepage.models import User

pytestmark = pytest.mark.django_db


def test_the_demo_team_has_reads_a_prefetch_gap_and_replies(client, settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=None)
    client.force_login(User.objects.get(username="ada"))
    page = client.get(reverse("reports:outreach")).content.decode()
    assert "whose pixel only machines loaded" in page
    assert "Apple Mail privacy protection</strong>:" in page
    response = client.get(reverse("reports:outreach_csv", args=["reps"]))
    rows = {row["Rep"]: row for row in csv.DictReader(io.StringIO(response.content.decode()))}
    assert set(rows) == {"Ada Admin", "Rex Rep"}
    assert int(rows["Rex Rep"]["Opened by a person"]) > 0
    assert sum(int(row["Replied"]) for row in rows.values()) == 2
