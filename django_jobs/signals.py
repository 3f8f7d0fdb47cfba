"""Signals sent for every job event, after the change is committed.

Every signal is sent with ``sender=Job`` and ``job=<the Job row>``; a receiver that raises is
logged and ignored (``send_robust``), so it never breaks a worker or an enqueue.
"""

from django.dispatch import Signal

#: kwargs: job
job_enqueued = Signal()
#: kwargs: job
job_started = Signal()
#: kwargs: job, result
job_succeeded = Signal()
#: kwargs: job, error (a short description); sent when the job fails for good
job_failed = Signal()
#: kwargs: job, error, retry_at
job_retried = Signal()
#: kwargs: job, dead_letter
job_dead_lettered = Signal()
#: kwargs: job
job_cancelled = Signal()
