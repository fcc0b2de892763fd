from django.contrib import admin

from .models import Email, EmailConfiguration, EmailRecipient, Mailbox


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ("from_address", "user", "kind", "smtp_host", "organization")
    list_filter = ("kind",)
    exclude = ("password_encrypted",)
    raw_id_fields = ("user",)


@admin.register(EmailConfiguration)
class EmailConfigurationAdmin(admin.ModelAdmin):
    list_display = ("organization", "allow_open_tracking", "track_eu_only_with_consent", "updated_at")


class EmailRecipientInline(admin.TabularInline):
    model = EmailRecipient
    extra = 0
    # A recipient goes only with its email: removed alone, its opens would go
    # without the email's counters knowing, and nothing would stop a writer
    # recording an open for it at that moment (tracking.models.OpenEvent).
    can_delete = False
    raw_id_fields = ("contact",)
    readonly_fields = ("open_count", "first_opened_at", "last_opened_at")


@admin.register(Email)
class EmailAdmin(admin.ModelAdmin):
    list_display = ("subject", "sender", "status", "track_opens", "open_count", "last_opened_at", "created_at")
    list_filter = ("status", "track_opens", "source")
    search_fields = ("subject",)
    raw_id_fields = ("sender",)
    readonly_fields = ("open_count", "first_opened_at", "last_opened_at", "message_id")
    inlines = [EmailRecipientInline]
