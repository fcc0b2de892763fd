"""Create an organization and its first admin: how a production install
starts (seed_demo is for development only).

    manage.py create_organization "Acme Widgets" --admin ada --email ada@acme.example

The admin's password is read from ONEPAGE_ADMIN_PASSWORD when set, otherwise
asked for twice at the prompt; it must pass the password validators."""

import getpass
import os

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from onepage.models import Membership, Organization, User
from onepage.plans import Plan

PASSWORD_VARIABLE = "ONEPAGE_ADMIN_PASSWORD"


class Command(BaseCommand):
    help = "Create an organization, its plan and its first admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The organization's name")
        parser.add_argument("--admin", required=True, help="The first admin's user name")
        parser.add_argument("--email", required=True, help="The first admin's email address")
        parser.add_argument("--plan", choices=Plan.values, default=Plan.BUSINESS)
        parser.add_argument("--time-zone", default="UTC", help="The organization's time zone, e.g. Europe/Dublin")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    def handle(self, *args, **options) -> None:
        if User.objects.filter(username=options["admin"]).exists():
            raise CommandError(f"The user name {options['admin']!r} is taken: choose another with --admin.")
        user = User(
            username=options["admin"],
            email=options["email"],
            first_name=options["first_name"],
            last_name=options["last_name"],
        )
        organization = Organization(name=options["name"], plan=options["plan"], time_zone=options["time_zone"])
        try:
            organization.full_clean()
            user.full_clean(exclude=["password"])
        except ValidationError as exc:
            raise CommandError(_first_message(exc)) from None
        password = self._password(user)
        with transaction.atomic():
            organization.save()
            user.set_password(password)
            user.save()
            Membership.objects.create(user=user, organization=organization, role=Membership.Role.ADMIN)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {organization.name} ({organization.get_plan_display()} plan) "
                f"with {user.username} as its admin. Sign in, then connect a mailbox in Settings -> Email sync."
            )
        )

    def _password(self, user: User) -> str:
        password = os.environ.get(PASSWORD_VARIABLE)
        if password is None:
            if not self.stdin_is_interactive():
                raise CommandError(f"Set {PASSWORD_VARIABLE} or run this command at a terminal to type the password.")
            password = getpass.getpass(f"Password for {user.username}: ")
            if password != getpass.getpass("The same password again: "):
                raise CommandError("The two passwords differ.")
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        return password

    @staticmethod
    def stdin_is_interactive() -> bool:
        return os.isatty(0)


def _first_message(exc: ValidationError) -> str:
    messages = [f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items()]
    return "; ".join(messages)
