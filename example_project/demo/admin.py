"""Admin for the demo's reports."""

from django.contrib import admin

from demo.models import Report


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """The reports written by the demo jobs."""

    list_display = ["title", "rows", "created_at"]
    date_hierarchy = "created_at"
