from django.contrib import admin

from contacts.models import Contact

from .erasure import contact_erase


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    """Registered here, not in contacts: deleting a contact in the admin
    erases it (privacy.erasure), as its page's Delete does."""

    list_display = ("full_name", "email", "company", "country", "organization")
    list_filter = ("organization",)
    search_fields = ("first_name", "last_name", "email", "company")

    def delete_model(self, request, obj: Contact) -> None:
        contact_erase(contact=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for contact in queryset:
            contact_erase(contact=contact, actor=request.user)
