"""Settings -> Email configuration: Allow open tracking and the EU rule.

Everyone in the organization sees the page; admins of a Business organization
change it. Switching Allow open tracking off goes through a confirmation page."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from onepage.decorators import admin_required, business_only
from onepage.models import SettingChange
from onepage.permissions import may_change_settings
from onepage.services import setting_changes_describe

from ..configuration import SWITCHES, TEXTS, email_configuration_update
from ..forms.configuration import ALREADY_SENT, SETTING_LABELS, VALUE_LABELS, EmailConfigurationForm
from ..models import MAX_RETENTION_MONTHS, EmailConfiguration

CHANGES_PER_PAGE = 20


def _page(request: HttpRequest, form: EmailConfigurationForm | None = None, *, status: int = 200) -> HttpResponse:
    config = EmailConfiguration.objects.of(request.organization)
    changes = SettingChange.objects.filter(
        organization=request.organization, setting__in=SWITCHES + TEXTS
    ).select_related("actor")
    page = Paginator(changes, CHANGES_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = setting_changes_describe(page.object_list, labels=SETTING_LABELS, values=VALUE_LABELS)
    can_change = may_change_settings(request.membership) and request.organization.features.open_tracking
    if can_change and form is None:
        form = EmailConfigurationForm(instance=config)
    context = {
        "config": config,
        "form": form if can_change else None,
        "page": page,
        "already_sent": ALREADY_SENT,
        "max_retention_months": MAX_RETENTION_MONTHS,
        "retention_too_long": config.open_retention_months > MAX_RETENTION_MONTHS,
    }
    return render(request, "emails/configuration.html", context, status=status)


@require_GET
def email_configuration(request: HttpRequest) -> HttpResponse:
    return _page(request)


@business_only
@admin_required
@require_POST
def email_configuration_change(request: HttpRequest) -> HttpResponse:
    config = EmailConfiguration.objects.of(request.organization)
    # A detached instance: validating must not touch the organization's configuration.
    form = EmailConfigurationForm(request.POST, instance=EmailConfiguration())
    if not form.is_valid():
        return _page(request, form, status=400)
    wanted = form.cleaned_data
    switching_off = config.allow_open_tracking and not wanted["allow_open_tracking"]
    if switching_off and request.POST.get("confirm") != "yes":
        return render(request, "emails/configuration_confirm.html", {"form": form, "already_sent": ALREADY_SENT})
    changes = email_configuration_update(
        organization=request.organization,
        actor=request.user,
        allow_open_tracking=wanted["allow_open_tracking"],
        track_eu_only_with_consent=wanted["track_eu_only_with_consent"],
        delete_opens_on_withdrawal=wanted["delete_opens_on_withdrawal"],
        preference_link=wanted["preference_link"],
        count_machine_opens=wanted["count_machine_opens"],
        preference_link_text=wanted["preference_link_text"] or None,
        unknown_recipients=wanted["unknown_recipients"] or None,
        open_retention_months=wanted["open_retention_months"],
    )
    if not changes:
        messages.info(request, "Nothing changed.")
    elif switching_off:
        messages.success(
            request, f"Allow open tracking is off. Emails sent from now on are not tracked. {ALREADY_SENT}"
        )
    else:
        messages.success(request, "Email configuration saved.")
    return redirect("email_configuration")
