from django.db import models


class Note(models.Model):
    """A row written by jobs and by enqueuing code, to test transactional behaviour."""

    text = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.text
