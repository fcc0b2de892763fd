from django.contrib import admin

from .models import Contact, ContactActivity


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("full_name", "email", "company", "country", "organization")
    list_filter = ("organization",)
    search_fields = ("first_name", "last_name", "email", "company")


@admin.register(ContactActivity)
class ContactActivityAdmin(admin.ModelAdmin):
    list_display = ("contact", "kind", "actor", "at")
    raw_id_fields = ("contact", "actor")
