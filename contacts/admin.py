from django.contrib import admin

from .erasure import contact_erase
from .models import Contact, ContactActivity, ContactErasure


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("full_name", "email", "company", "country", "organization")
    list_filter = ("organization",)
    search_fields = ("first_name", "last_name", "email", "company")

    # Deleting here erases too (contacts.erasure), as on the contact's page.
    def delete_model(self, request, obj: Contact) -> None:
        contact_erase(contact=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for contact in queryset:
            contact_erase(contact=contact, actor=request.user)


@admin.register(ContactActivity)
class ContactActivityAdmin(admin.ModelAdmin):
    list_display = ("contact", "kind", "actor", "at")
    raw_id_fields = ("contact", "actor")


@admin.register(ContactErasure)
class ContactErasureAdmin(admin.ModelAdmin):
    list_display = ("contact_id", "organization", "actor", "opens_deleted", "recipients_erased", "emails_erased", "at")
    list_filter = ("organization",)
    raw_id_fields = ("actor",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False
