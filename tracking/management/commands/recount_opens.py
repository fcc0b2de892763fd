from django.core.management.base import BaseCommand
from django.db import transaction

from emails import rollup
from emails.models import Email
from tracking import counters, erasure


class Command(BaseCommand):
    help = (
        "Recompute every email's and recipient's open counters from the recorded opens (OpenEvent). "
        "The writer keeps them equal; this repairs them if a manual change ever made them differ, "
        "then the team's outreach weeks (Reports) from the emails."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Emails recounted per transaction.")
        parser.add_argument("--check", action="store_true", help="Only list counters that differ; change nothing.")

    def handle(self, *args, batch_size: int, check: bool, **options):
        ids = list(Email.objects.order_by("pk").values_list("pk", flat=True))
        differing = 0
        for start in range(0, len(ids), batch_size):
            chunk = ids[start : start + batch_size]
            with transaction.atomic():
                wrong = counters.disagreeing(email_ids=chunk)
                differing += len(wrong)
                if wrong and not check:
                    # The writers lock emails the same way: no open is added
                    # between the recount and the commit.
                    locked = list(
                        Email.objects.select_for_update()
                        .filter(pk__in=chunk)
                        .order_by("pk")
                        .values_list("pk", flat=True)
                    )
                    counters.recount(email_ids=locked)
                    # An open whose recipient is gone goes too (it counted
                    # nowhere: no recipient row, and the recount above).
                    erasure.delete_opens(counters.without_recipient(locked))
        verb = "differ" if check else "were repaired"
        self.stdout.write(f"{differing} counters {verb} ({len(ids)} emails checked).")
        # The team's rollup (Reports) from the emails, their counters now true.
        weeks = len(rollup.disagreeing()) if check else rollup.rebuild()
        self.stdout.write(f"{weeks} outreach weeks {verb}.")
