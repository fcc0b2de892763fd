from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from onepage.forms import SearchForm
from onepage.search import unaccented

from . import last_opened, reading_times, timeline
from .access import contacts_for, get_contact_for_user
from .forms import ContactForm
from .services import contact_save

CONTACTS_PER_PAGE = 25
TIMELINE_TABS = ("all", "email")
CONSENT_RECORDS_SHOWN = 20


def contact_list(request: HttpRequest) -> HttpResponse:
    search = SearchForm(request.GET)
    q = search.query()
    contacts = contacts_for(request)
    if q:
        for word in unaccented(q).split():
            contacts = contacts.filter(
                Q(first_name__unaccent__icontains=word)
                | Q(last_name__unaccent__icontains=word)
                | Q(email__unaccent__icontains=word)
                | Q(company__unaccent__icontains=word)
            )
    shows_last_opened = last_opened.available()
    sort = request.GET.get("sort") if shows_last_opened and request.GET.get("sort") in last_opened.SORTS else "name"
    if shows_last_opened:
        contacts = last_opened.with_last_opened(contacts)
    if sort == "last_opened":
        contacts = last_opened.latest_opened_first(contacts)
    page = Paginator(contacts, CONTACTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": q,
        "search": search,
        "sort": sort,
        "shows_last_opened": shows_last_opened,
        # The pager's links keep the sort (the search is kept by the include).
        "extra_query": "sort=last_opened&" if sort == "last_opened" else "",
    }
    return render(request, "contacts/contact_list.html", context)


@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest) -> HttpResponse:
    # "Add as a contact" from the composer comes with the address typed there.
    initial = {"email": request.GET["email"][:254]} if request.GET.get("email") else {}
    form = ContactForm(request.POST or None, organization=request.organization, initial=initial)
    if request.method == "POST" and form.is_valid():
        contact = contact_save(form=form, actor=request.user)
        messages.success(request, f"{contact.full_name} was added.")
        return redirect("contacts:detail", pk=contact.pk)
    return render(request, "contacts/contact_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_contact_for_user(request, pk)
    form = ContactForm(request.POST or None, instance=contact, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        contact_save(form=form, actor=request.user)
        messages.success(request, "Changes saved.")
        return redirect("contacts:detail", pk=contact.pk)
    return render(request, "contacts/contact_form.html", {"form": form, "contact": contact})


def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_contact_for_user(request, pk)
    tab = request.GET.get("tab", "all")
    if tab not in TIMELINE_TABS:
        tab = "all"
    shown = timeline.shown_count(request.GET.get("shown"))
    if tab == "email":
        items, has_more = timeline.email_tab(contact, shown=shown)
    else:
        items, has_more = timeline.all_tab(contact, shown=shown)
    return render(
        request,
        "contacts/contact_detail.html",
        {
            "contact": contact,
            "tab": tab,
            "timeline_items": items,
            "timeline_has_more": has_more,
            "timeline_more": shown + timeline.STEP,
            "consent_records": contact.consent_records.select_related("actor")[:CONSENT_RECORDS_SHOWN],
            # The viewer's zone as the middleware activated it (User.zone's
            # rule), without asking for their membership again.
            "reading_times": reading_times.of(
                contact, zone=timezone.get_current_timezone(), organization=request.organization
            ),
        },
    )
