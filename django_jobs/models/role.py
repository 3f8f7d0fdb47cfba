"""Role: a named set of queues that a worker serves (``runjobs --role NAME``)."""

from django.db import models


class Role(models.Model):
    name = models.CharField(max_length=100, unique=True)
    queues = models.ManyToManyField("django_jobs.Queue", related_name="roles", blank=True)
    description = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def queue_names(self) -> list[str]:
        return sorted(self.queues.values_list("name", flat=True))
