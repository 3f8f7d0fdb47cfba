"""The DeadLetter admin: browse, history, resubmit (one by one or in bulk), delete, purge."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import DateFieldListFilter, helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from django_jobs import operations
from django_jobs.admin import display
from django_jobs.admin.actions import (
    ACTION_LIMIT,
    EVERY_ROW,
    Skip,
    Tally,
    apply,
    delete_eligible,
    report,
)
from django_jobs.admin.base import JobsModelAdmin, ReadOnlyMixin, time_field
from django_jobs.admin.filters import DeadLetterDefinitionFilter, ResubmittedFilter
from django_jobs.admin.jobs import JobPermissions
from django_jobs.conf import jobs_settings
from django_jobs.exceptions import UnknownJob
from django_jobs.ids import parse_job_id
from django_jobs.models import DeadLetter

PENDING = Q(resubmitted_at__isnull=True)


def resubmitter(reset_retry_count: bool) -> Any:
    """An action step that resubmits one dead letter."""

    def step(dead_letter: DeadLetter) -> str:
        try:
            job = dead_letter.resubmit(reset_retry_count=reset_retry_count)
        except UnknownJob:
            raise Skip(display.UNKNOWN_DEFINITION) from None
        if job is None:
            raise Skip("resubmitted meanwhile")
        return ""

    return step


class BulkResubmitForm(forms.Form):
    definition = forms.ChoiceField(help_text="Dead letters of this definition, oldest first.")
    limit = forms.IntegerField(
        min_value=1, max_value=ACTION_LIMIT, initial=100, help_text="How many at most."
    )
    reset_retry_count = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Give each new job all its attempts again (otherwise only those left).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = (
            DeadLetter.objects.using(jobs_settings.DATABASE)
            .filter(PENDING)
            .order_by("name")
            .values_list("name", flat=True)
            .distinct()[:100]
        )
        self.fields["definition"].choices = [(n, n) for n in names]


@admin.register(DeadLetter)
class DeadLetterAdmin(JobPermissions, ReadOnlyMixin, JobsModelAdmin):
    change_list_template = "django_jobs/admin/deadletter_change_list.html"
    list_display = (
        "failed_job",
        "definition",
        "failed_at_display",
        "short_reason",
        "attempts",
        "resubmitted",
    )
    list_filter = (
        DeadLetterDefinitionFilter,
        ("failed_at", DateFieldListFilter),
        ResubmittedFilter,
    )
    list_select_related = ("job",)
    search_fields = ("=job__id", "name")
    search_help_text = "A job id, or part of a definition name."
    sortable_by = ("failed_at_display",)
    actions = ["resubmit_reset", "resubmit_keep", "purge", "delete_selected"]
    fields = (
        "job_link",
        "definition",
        "failed_at_display",
        "reason_display",
        "arguments",
        "keyword_arguments",
        "resubmitted",
        "resubmitted_at_display",
        "attempt_history",
    )
    readonly_fields = fields

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.bulk_resubmit_view)
        name = "django_jobs_deadletter_bulk_resubmit"
        return [path("bulk-resubmit/", view, name=name), *super().get_urls()]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[DeadLetter], search_term: str
    ) -> tuple[QuerySet[DeadLetter], bool]:
        term = search_term.replace("\x00", "").strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(job_id=parse_job_id(term)), False
        except ValueError:
            return queryset.filter(name__icontains=term[:200]), False

    def has_purge_permission(self, request: HttpRequest) -> bool:
        return self.has_delete_permission(request) and request.user.has_perm(
            "django_jobs.delete_job"
        )

    # --- columns and detail --------------------------------------------------------------------

    failed_at_display = time_field("failed_at")
    resubmitted_at_display = time_field("resubmitted_at")

    @admin.display(description="job")
    def failed_job(self, letter: DeadLetter) -> SafeString:
        return display.short_id(letter.job_id)

    @admin.display(description="job")
    def job_link(self, letter: DeadLetter) -> SafeString | str:
        return display.admin_link("job", letter.job_id, letter.job_id)

    @admin.display(description="definition")
    def definition(self, letter: DeadLetter) -> SafeString:
        return display.definition_label(letter.name, letter.job.version)

    @admin.display(description="reason")
    def short_reason(self, letter: DeadLetter) -> str:
        text = letter.reason.splitlines()[0] if letter.reason else ""
        if not text:
            return display.EMPTY
        return text if len(text) <= 100 else text[:99] + "…"

    @admin.display(description="reason")
    def reason_display(self, letter: DeadLetter) -> SafeString | str:
        return display.preformatted(letter.reason)

    @admin.display(description="attempts")
    def attempts(self, letter: DeadLetter) -> int:
        return letter.job.attempts

    @admin.display(description="resubmitted as")
    def resubmitted(self, letter: DeadLetter) -> SafeString | str:
        if letter.resubmitted_at is None:
            return display.EMPTY
        if letter.resubmitted_job_id is None:
            return "a job since deleted"
        return display.admin_link(
            "job", letter.resubmitted_job_id, display.short_id(letter.resubmitted_job_id)
        )

    @admin.display(description="arguments")
    def arguments(self, letter: DeadLetter) -> SafeString:
        return display.pretty_json(letter.job.args)

    @admin.display(description="keyword arguments")
    def keyword_arguments(self, letter: DeadLetter) -> SafeString:
        return display.pretty_json(letter.job.kwargs)

    @admin.display(description="attempt history")
    def attempt_history(self, letter: DeadLetter) -> SafeString | str:
        return display.attempt_history(letter.job.attempt_history.order_by("number"))

    # --- actions -----------------------------------------------------------------------------

    @admin.action(
        description="Resubmit selected dead letters (reset retry count)", permissions=["resubmit"]
    )
    def resubmit_reset(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        tally = apply(queryset, PENDING, resubmitter(True), lambda _: "already resubmitted")
        report(self, request, "Resubmit", tally)

    @admin.action(
        description="Resubmit selected dead letters (keep retry count)", permissions=["resubmit"]
    )
    def resubmit_keep(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        tally = apply(queryset, PENDING, resubmitter(False), lambda _: "already resubmitted")
        report(self, request, "Resubmit", tally)

    @admin.action(
        description="Delete selected dead letters (keep the jobs)", permissions=["delete"]
    )
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> Any:
        return delete_eligible(self, request, queryset, EVERY_ROW, str)

    @admin.action(
        description="Purge selected dead letters with their jobs and attempts",
        permissions=["purge"],
    )
    def purge(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> HttpResponse | None:
        chosen = list(queryset.select_related("job")[: ACTION_LIMIT + 1])
        if not request.POST.get("post"):
            for letter in chosen:
                letter.failed_at_display = display.timestamp(letter.failed_at)
            context = {
                **self.admin_site.each_context(request),
                "title": "Purge dead letters",
                "opts": self.opts,
                "letters": chosen[:ACTION_LIMIT],
                "more": len(chosen) > ACTION_LIMIT,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "django_jobs/admin/purge_confirmation.html", context)
        pks = [letter.pk for letter in chosen[:ACTION_LIMIT]]
        purged = operations.purge_dead_letters(
            DeadLetter.objects.using(queryset.db).filter(pk__in=pks)
        )
        tally = Tally(changed=purged, stopped_early=len(chosen) > ACTION_LIMIT)
        if len(pks) > purged:
            tally.skipped["deleted meanwhile"] = len(pks) - purged
        report(self, request, "Purge", tally)
        return None

    # --- bulk resubmit -------------------------------------------------------------------------

    def bulk_resubmit_view(self, request: HttpRequest) -> HttpResponse:
        """Resubmit up to N dead letters of one definition (a form, then a message)."""
        if not (self.has_view_permission(request) and self.has_resubmit_permission(request)):
            raise PermissionDenied
        form = BulkResubmitForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            name = form.cleaned_data["definition"]
            done, skipped = operations.resubmit_dead_letters(
                name,
                limit=form.cleaned_data["limit"],
                reset_retry_count=form.cleaned_data["reset_retry_count"],
            )
            report(self, request, "Bulk resubmit", Tally(changed=done, skipped=skipped))
            changelist = reverse(f"{self.admin_site.name}:django_jobs_deadletter_changelist")
            return HttpResponseRedirect(f"{changelist}?{urlencode({'definition': name})}")
        context = {
            **self.admin_site.each_context(request),
            "title": "Resubmit dead letters in bulk",
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(request, "django_jobs/admin/bulk_resubmit.html", context)
