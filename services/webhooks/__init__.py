"""Webhooks: Dramatiq actors that post each delivery row to its partner system, signed, and retry it for about a day.

They run in a worker of their own on the ``webhooks`` queue, so that a slow or
silent receiver never holds up a participant's mail. The rows are written by the
registration domain (``services.registration.domain.webhooks``) in the change's
transaction; this service reads and updates them, and imports nothing else of it.
"""

# How the worker runs (the dev stack, docker-compose.yml and the webhook benchmark use
# these; a test keeps docker-compose.yml in step). Posting is mostly waiting, for the
# receiver and the database: on 2 cores 3 x 4 posted about half again as many as 2 x 4
# on PostgreSQL (the same on SQLite), and 2 x 8 fewer (the threads of a process share its
# interpreter lock).
WORKER_PROCESSES = 3
WORKER_THREADS = 4


def worker_command(python: list[str], processes: int = WORKER_PROCESSES, threads: int = WORKER_THREADS) -> list[str]:
    """The webhook worker's command line, after ``python`` (e.g. ``[sys.executable, "-m"]``)."""
    return [*python, "dramatiq", "services.webhooks.worker", "--queues", "webhooks", "--processes", str(processes),
            "--threads", str(threads)]
