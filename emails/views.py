from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .models import Email

EMAILS_PER_PAGE = 25


def email_index(request: HttpRequest) -> HttpResponse:
    emails = Email.objects.filter(organization=request.organization, sender=request.user)
    page = Paginator(emails, EMAILS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "emails/email_index.html", {"page": page})
