from django.contrib import admin

from .models import ContactActivity, ContactErasure


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
