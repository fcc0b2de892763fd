from django.contrib import admin

from .models import OpenEvent


@admin.register(OpenEvent)
class OpenEventAdmin(admin.ModelAdmin):
    list_display = ("recipient", "email", "opened_at")
    raw_id_fields = ("recipient", "email")
    date_hierarchy = "opened_at"
