from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe

from . import health
from .decorators import admin_required
from .forms import ProfileForm
from .models import Organization, SettingChange
from .plans import features_of
from .services import PLAN_LABELS, PLAN_VALUES, organization_plan_change, setting_changes_describe

PLAN_CHANGES_SHOWN = 20


def settings_index(request: HttpRequest) -> HttpResponse:
    return render(request, "onepage/settings_index.html")


def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your profile was saved.")
        return redirect("profile")
    return render(request, "onepage/profile.html", {"form": form})


class PlanForm(forms.Form):
    plan = forms.ChoiceField(choices=Organization.Plan.choices)


def _plan_page(request: HttpRequest, form: PlanForm | None = None, *, status: int = 200) -> HttpResponse:
    changes = SettingChange.objects.filter(organization=request.organization, setting="plan").select_related("actor")
    page = Paginator(changes, PLAN_CHANGES_SHOWN).get_page(request.GET.get("page"))
    page.object_list = setting_changes_describe(page.object_list, labels=PLAN_LABELS, values=PLAN_VALUES)
    plans = [
        {
            "value": value,
            "label": label,
            "current": value == request.organization.plan,
            "open_tracking": features_of(value).open_tracking,
        }
        for value, label in Organization.Plan.choices
    ]
    return render(request, "onepage/plan.html", {"form": form, "page": page, "plans": plans}, status=status)


@require_GET
def plan(request: HttpRequest) -> HttpResponse:
    return _plan_page(request)


@admin_required
@require_POST
def plan_change(request: HttpRequest) -> HttpResponse:
    form = PlanForm(request.POST)
    if not form.is_valid():
        return _plan_page(request, form, status=400)
    new_plan = Organization.Plan(form.cleaned_data["plan"])
    if new_plan == request.organization.plan:
        messages.info(request, f"Your organization is already on the {new_plan.label} plan.")
        return redirect("plan")
    if request.POST.get("confirm") != "yes":
        return render(request, "onepage/plan_confirm.html", {"new_plan": new_plan})
    organization_plan_change(organization=request.organization, actor=request.user, plan=new_plan)
    if new_plan == Organization.Plan.BUSINESS:
        messages.success(request, "You are on the Business plan. Emails sent from now on can be tracked again.")
    else:
        messages.success(request, "You are on the Professional plan. Emails sent from now on are not tracked.")
    return redirect("plan")


@login_not_required
@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers, bookmarks and feed readers ask for
    whatever a page links: the icon every page links (base.html's SVG),
    not a 404 in the logs."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and monitors: 200 while the database answers, 503
    otherwise. Anyone gets the status and the names of the parts that are
    down; a monitor sending `Authorization: Bearer <HEALTHZ_TOKEN>` gets each
    check's details too. No session, no cookie."""
    sent = request.headers.get("Authorization")
    if sent is not None and not _is_healthz_token(sent):
        response = JsonResponse({"error": "The token does not match HEALTHZ_TOKEN."}, status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response
    report = health.report()
    status = 503 if report["status"] == "unavailable" else 200
    return JsonResponse(report if sent is not None else health.summary(report), status=status)


def _is_healthz_token(authorization: str) -> bool:
    scheme, _, token = authorization.partition(" ")
    expected = settings.HEALTHZ_TOKEN
    return bool(expected) and scheme.lower() == "bearer" and constant_time_compare(token.strip(), expected)


@admin_required
@require_GET
def system(request: HttpRequest) -> HttpResponse:
    report = health.report()
    checks = [
        {
            "name": name,
            "label": name.replace("_", " ").capitalize(),
            "ok": check["ok"],
            "details": [
                value if key in ("detail", "error") else f"{key.replace('_', ' ').capitalize()}: {value}"
                for key, value in check.items()
                if key != "ok"
            ],
        }
        for name, check in report["checks"].items()
    ]
    context = {
        "report": report,
        "checks": checks,
        "down": ", ".join(check["label"] for check in checks if check["ok"] is False),
        "panels": health.panels(request.organization),
        "stale_after": health.HEARTBEAT_STALE,
        "healthz_token_set": bool(settings.HEALTHZ_TOKEN),
    }
    return render(request, "onepage/system.html", context)


def signed_in_locked_out(
    request: HttpRequest, original_response: HttpResponseBase | None = None, credentials: dict | None = None
) -> HttpResponse:
    """What django-axes answers to a locked-out sign-in (settings:
    AXES_LOCKOUT_CALLABLE): the login page's layout, and when to try again."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "registration/locked_out.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes},
        status=429,
    )
